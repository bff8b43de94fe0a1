//! The connection to a Roon Core: one thread owns the WebSocket, pairs with
//! the Core (`info`, then `register` with the stored token), subscribes to
//! the zones, answers the Core's pings, and reconnects with a backoff when
//! the Core goes away. Callers reach the Core through [`Connection::call`],
//! which hands the request to the thread and waits for its answer.

use std::collections::{BTreeMap, HashMap};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use musique_sdk::player::{ConnectionState, PlayerCore, PlayerStatus};
use musique_sdk::protocol::Event;
use musique_sdk::{Error, ErrorKind, Host, Level};
use serde_json::{Value, json};
use tungstenite::protocol::WebSocketConfig;

use crate::model::{RoonZone, ZonesChanged};
use crate::moo::{Message, Verb};
use crate::sood;

/// The largest frame accepted from the Core. Zone lists and browse pages are
/// tens of kilobytes; anything near this is not a message worth parsing.
pub const MAX_FRAME_BYTES: usize = 8 * 1024 * 1024;
/// How long a caller waits for the Core's answer.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// The first wait before reconnecting; it doubles up to [`MAX_BACKOFF`].
pub const MIN_BACKOFF: Duration = Duration::from_secs(1);
/// The longest wait before reconnecting.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// How long the socket thread blocks on a read before it looks at the callers' queue.
const POLL: Duration = Duration::from_millis(10);
/// After this long without a frame from the Core, a WebSocket ping asks whether it is still there.
const QUIET: Duration = Duration::from_secs(20);
/// After this long without a frame (pongs included), the Core is taken for gone.
const SILENT: Duration = Duration::from_secs(60);
/// How long discovery listens for replies.
const DISCOVERY_WAIT: Duration = Duration::from_secs(3);
/// The message shown while the Core has not allowed the extension yet.
pub const WAITING_APPROVAL: &str = "waiting for approval in Roon → Settings → Extensions";

/// The services this extension needs, may use, and provides.
const REQUIRED_SERVICES: &[&str] = &["com.roonlabs.transport:2", "com.roonlabs.browse:1"];
const OPTIONAL_SERVICES: &[&str] = &["com.roonlabs.image:1"];
const PROVIDED_SERVICES: &[&str] = &["com.roonlabs.ping:1", "com.roonlabs.status:1"];

/// Where and as what to connect.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The Core's host; with `port`, no discovery.
    pub host: Option<String>,
    /// The Core's WebSocket port (`http_port`); when set, no discovery.
    pub port: Option<u16>,
    /// Where SOOD queries go.
    pub discovery_address: Vec<SocketAddr>,
    /// The extension's stable id, as Roon lists it.
    pub extension_id: String,
    /// The extension's name in Roon.
    pub display_name: String,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            host: None,
            port: None,
            discovery_address: vec![sood::MULTICAST, sood::BROADCAST],
            extension_id: "dev.musique.roon".to_owned(),
            display_name: "musique".to_owned(),
        }
    }
}

impl Config {
    /// Reads the `[adapters.roon]` table; unknown keys are left to the host.
    pub fn from_json(config: &Value) -> Result<Config, Error> {
        let invalid = |key: &str, what: &str| Error::new(ErrorKind::InvalidInput, format!("roon: `{key}` {what}"));
        let mut out = Config::default();
        if let Some(host) = config.get("host").filter(|value| !value.is_null()) {
            out.host = Some(host.as_str().ok_or_else(|| invalid("host", "must be a string"))?.to_owned());
        }
        if let Some(port) = config.get("port").filter(|value| !value.is_null()) {
            let port = port.as_u64().and_then(|port| u16::try_from(port).ok()).filter(|port| *port > 0);
            out.port = Some(port.ok_or_else(|| invalid("port", "must be a port number"))?);
        }
        if let Some(address) = config.get("discovery_address").filter(|value| !value.is_null()) {
            let texts: Vec<&str> = match address {
                Value::String(text) => vec![text.as_str()],
                Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
                _ => return Err(invalid("discovery_address", "must be an address or a list of addresses")),
            };
            out.discovery_address = texts
                .iter()
                .map(|text| {
                    text.parse().map_err(|_| invalid("discovery_address", &format!("has a bad address {text:?}")))
                })
                .collect::<Result<_, _>>()?;
        }
        for (key, slot) in [("extension_id", &mut out.extension_id), ("display_name", &mut out.display_name)] {
            if let Some(value) = config.get(key).filter(|value| !value.is_null()) {
                *slot = value
                    .as_str()
                    .filter(|text| !text.is_empty())
                    .ok_or_else(|| invalid(key, "must be text"))?
                    .to_owned();
            }
        }
        Ok(out)
    }
}

/// What the socket thread and the callers share.
#[derive(Debug)]
pub struct Shared {
    /// The connection's status, the zones and the stations this adapter started;
    /// a std mutex: it is held for short copies, never across I/O.
    state: Mutex<State>,
}

/// The shared state behind [`Shared`].
#[derive(Debug)]
pub struct State {
    /// Where the connection stands.
    pub status: PlayerStatus,
    /// Every zone, by id, as the Core last described it.
    pub zones: BTreeMap<String, RoonZone>,
    /// The station this adapter started on a zone, by zone id, until the zone plays a track with a length.
    pub radio_started: HashMap<String, String>,
}

impl Shared {
    fn new() -> Shared {
        Shared {
            state: Mutex::new(State {
                status: PlayerStatus {
                    state: ConnectionState::Connecting,
                    message: "starting".to_owned(),
                    core: None,
                    zones: 0,
                },
                zones: BTreeMap::new(),
                radio_started: HashMap::new(),
            }),
        }
    }

    /// The state, locked.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poison| poison.into_inner())
    }
}

/// A request from a caller, for the socket thread.
struct Outgoing {
    name: String,
    body: Option<Value>,
    reply: Sender<Result<Message, String>>,
}

/// The running connection: the socket thread and the way to it.
pub struct Connection {
    /// The state the thread keeps up to date.
    shared: Arc<Shared>,
    /// Requests to the thread.
    requests: Sender<Outgoing>,
    /// Dropped to stop the thread.
    stop: Option<Sender<()>>,
    /// Signals that the thread is done, so dropping waits a bounded time.
    done: Receiver<()>,
    /// The thread, joined when it said it is done.
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("Connection").finish_non_exhaustive()
    }
}

impl Connection {
    /// Starts the socket thread.
    pub fn start(host: Host, config: Config) -> Result<Connection, Error> {
        let shared = Arc::new(Shared::new());
        let (requests, requests_rx) = mpsc::channel();
        let (stop, stop_rx) = mpsc::channel();
        let (done_tx, done) = mpsc::channel();
        let worker = Worker { host, config, shared: shared.clone(), requests: requests_rx, stop: stop_rx };
        let thread = std::thread::Builder::new()
            .name("roon-connection".to_owned())
            .spawn(move || {
                worker.run();
                let _ = done_tx.send(());
            })
            .map_err(|err| {
                Error::new(ErrorKind::Internal, format!("roon: cannot start the connection thread: {err}"))
            })?;
        Ok(Connection { shared, requests, stop: Some(stop), done, thread: Some(thread) })
    }

    /// The shared state.
    pub fn shared(&self) -> &Shared {
        &self.shared
    }

    /// Sends a request to the Core and waits for its first answer.
    pub fn call(&self, name: &str, body: Option<Value>) -> Result<Message, Error> {
        let status = self.shared.lock().status.clone();
        if status.state != ConnectionState::Connected {
            return Err(Error::new(ErrorKind::Unavailable, format!("roon: not connected: {}", status.message)));
        }
        let (reply, answer) = mpsc::channel();
        let outgoing = Outgoing { name: name.to_owned(), body, reply };
        if self.requests.send(outgoing).is_err() {
            return Err(Error::new(ErrorKind::Unavailable, "roon: the connection thread has stopped"));
        }
        match answer.recv_timeout(REQUEST_TIMEOUT) {
            Ok(Ok(message)) => Ok(message),
            Ok(Err(reason)) => Err(Error::new(ErrorKind::Unavailable, format!("roon: {reason}"))),
            Err(RecvTimeoutError::Disconnected) => Err(Error::new(
                ErrorKind::Unavailable,
                format!("roon: the connection to the Core was lost before it answered `{name}`"),
            )),
            Err(RecvTimeoutError::Timeout) => Err(Error::new(
                ErrorKind::Unavailable,
                format!("roon: no answer to `{name}` within {} s", REQUEST_TIMEOUT.as_secs()),
            )),
        }
    }

    /// Like [`Connection::call`], but any answer other than `Success` is an error naming it.
    pub fn call_ok(&self, name: &str, body: Option<Value>) -> Result<Option<Value>, Error> {
        let message = self.call(name, body)?;
        if message.name != "Success" {
            let detail = message.json().map(|body| format!(": {body}")).unwrap_or_default();
            return Err(Error::new(ErrorKind::Protocol, format!("roon answered {}{detail}", message.name)));
        }
        Ok(message.json().cloned())
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        drop(self.stop.take());
        // The thread looks at the stop channel at least every POLL; a connect or a
        // discovery in progress may take a few seconds more, so the wait is bounded.
        if self.done.recv_timeout(Duration::from_secs(6)).is_ok()
            && let Some(thread) = self.thread.take()
        {
            let _ = thread.join();
        }
    }
}

/// The socket thread's own data.
struct Worker {
    host: Host,
    config: Config,
    shared: Arc<Shared>,
    requests: Receiver<Outgoing>,
    stop: Receiver<()>,
}

/// Why a session ended.
enum End {
    /// Stop asked.
    Stop,
    /// The connection failed; `connected` says whether it had been registered.
    Failed { reason: String, connected: bool },
}

/// What a request of the socket thread's own waits for.
enum Pending {
    Info,
    Register,
    Subscribe,
    Caller(Sender<Result<Message, String>>),
}

impl Pending {
    /// A copy of one of the thread's own requests (a caller's is never copied).
    fn own(&self) -> Pending {
        match self {
            Pending::Info => Pending::Info,
            Pending::Register => Pending::Register,
            Pending::Subscribe => Pending::Subscribe,
            Pending::Caller(reply) => Pending::Caller(reply.clone()),
        }
    }
}

type Socket = tungstenite::WebSocket<TcpStream>;

impl Worker {
    fn run(self) {
        let mut backoff = MIN_BACKOFF;
        // The reason of the last failure: the same one again (no Core on this network,
        // every 30 s) is only worth a debug line.
        let mut last_reason: Option<String> = None;
        loop {
            self.refuse_waiting_callers("not connected");
            let end = match self.find_core() {
                Ok(Some((host, port))) => self.session(&host, port),
                Ok(None) => End::Failed { reason: "no Roon Core answered discovery".to_owned(), connected: false },
                Err(reason) => End::Failed { reason, connected: false },
            };
            let (reason, connected) = match end {
                End::Stop => return,
                End::Failed { reason, connected } => (reason, connected),
            };
            if connected {
                backoff = MIN_BACKOFF;
            }
            let level = match (connected, last_reason.as_deref() == Some(reason.as_str())) {
                (true, _) => Level::Warn,
                (false, false) => Level::Info,
                (false, true) => Level::Debug,
            };
            self.host.log(level, &format!("roon: {reason}; retrying in {} s", backoff.as_secs()));
            last_reason = Some(reason.clone());
            {
                let mut state = self.shared.lock();
                state.zones.clear();
            }
            self.set_status(ConnectionState::Disconnected, format!("{reason}; retrying in {} s", backoff.as_secs()));
            if self.wait(backoff) {
                return;
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// Waits, answering callers meanwhile; `true` when stop was asked.
    fn wait(&self, duration: Duration) -> bool {
        match self.stop.recv_timeout(duration) {
            Err(RecvTimeoutError::Timeout) => false,
            Ok(()) | Err(RecvTimeoutError::Disconnected) => true,
        }
    }

    fn stopped(&self) -> bool {
        !matches!(self.stop.try_recv(), Err(TryRecvError::Empty))
    }

    fn refuse_waiting_callers(&self, reason: &str) {
        while let Ok(outgoing) = self.requests.try_recv() {
            let _ = outgoing.reply.send(Err(reason.to_owned()));
        }
    }

    /// The configured Core, or the first one discovery finds.
    fn find_core(&self) -> Result<Option<(String, u16)>, String> {
        if let Some(port) = self.config.port {
            let host = self.config.host.clone().unwrap_or_else(|| "127.0.0.1".to_owned());
            return Ok(Some((host, port)));
        }
        self.set_status(ConnectionState::Discovering, "looking for a Roon Core on the network".to_owned());
        let cores = sood::discover_until(&self.config.discovery_address, DISCOVERY_WAIT, &|| self.stopped())
            .map_err(|err| format!("discovery failed: {err}"))?;
        let wanted = self.config.host.as_deref();
        let core = cores.into_iter().find(|core| wanted.is_none_or(|host| host == core.host));
        Ok(core.map(|core| (core.host, core.port)))
    }

    fn set_status(&self, state: ConnectionState, message: String) {
        let status = {
            let mut shared = self.shared.lock();
            let zones = shared.zones.len() as u32;
            let status = &mut shared.status;
            if status.state == state && status.message == message && status.zones == zones {
                return;
            }
            status.state = state;
            status.message = message;
            status.zones = zones;
            status.clone()
        };
        let _ = self.host.emit(&Event::PlayerStatus(status));
    }

    fn session(&self, host: &str, port: u16) -> End {
        let address = format!("{host}:{port}");
        self.set_status(ConnectionState::Connecting, format!("connecting to {address}"));
        let mut socket = match connect(host, port) {
            Ok(socket) => socket,
            Err(reason) => return End::Failed { reason, connected: false },
        };
        let mut session = Session { next_id: 0, pending: HashMap::new(), connected: false, address };
        let fail = |reason: String, connected: bool| End::Failed { reason, connected };
        if let Err(reason) = session.send(&mut socket, "com.roonlabs.registry:1/info", None, Pending::Info) {
            return fail(reason, false);
        }
        let mut last_heard = Instant::now();
        let mut last_ping = Instant::now();
        loop {
            if self.stopped() {
                let _ = socket.close(None);
                let _ = socket.flush();
                return End::Stop;
            }
            while let Ok(outgoing) = self.requests.try_recv() {
                if !session.connected {
                    let _ = outgoing.reply.send(Err("not connected".to_owned()));
                    continue;
                }
                let Outgoing { name, body, reply } = outgoing;
                if let Err(reason) = session.send(&mut socket, &name, body, Pending::Caller(reply)) {
                    return fail(reason, session.connected);
                }
            }
            if last_heard.elapsed() > SILENT {
                return fail(format!("the Core was silent for {} s", SILENT.as_secs()), session.connected);
            }
            if last_heard.elapsed() > QUIET && last_ping.elapsed() > QUIET {
                last_ping = Instant::now();
                if let Err(err) = socket.send(tungstenite::Message::Ping(Default::default())) {
                    return fail(format!("cannot write to the Core: {err}"), session.connected);
                }
            }
            let read = socket.read();
            if read.is_ok() {
                last_heard = Instant::now();
            }
            let bytes = match read {
                Ok(tungstenite::Message::Binary(bytes)) => bytes.to_vec(),
                Ok(tungstenite::Message::Text(text)) => text.as_bytes().to_vec(),
                Ok(tungstenite::Message::Close(_)) => {
                    return fail("the Core closed the connection".to_owned(), session.connected);
                }
                Ok(_) => continue,
                Err(tungstenite::Error::Io(err))
                    if matches!(err.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) =>
                {
                    continue;
                }
                Err(err) => return fail(format!("the connection to the Core failed: {err}"), session.connected),
            };
            let message = match Message::decode(&bytes) {
                Ok(Some(message)) => message,
                Ok(None) => continue,
                Err(err) => {
                    self.host.log(Level::Warn, &format!("roon: dropping the connection after a bad frame: {err}"));
                    return fail(format!("the Core sent a bad frame ({err})"), session.connected);
                }
            };
            if let Err(reason) = self.handle(&mut socket, &mut session, message) {
                return fail(reason, session.connected);
            }
        }
    }

    fn handle(&self, socket: &mut Socket, session: &mut Session, message: Message) -> Result<(), String> {
        if message.verb == Verb::Request {
            return self.answer_core_request(socket, message);
        }
        let id = message.request_id;
        // Callers get the first answer; the thread's own requests stay until COMPLETE
        // (`Registered` and the zones' `Changed` come as CONTINUE).
        let last = message.verb == Verb::Complete || matches!(session.pending.get(&id), Some(Pending::Caller(_)));
        let pending = if last { session.pending.remove(&id) } else { session.pending.get(&id).map(Pending::own) };
        match pending {
            None => Ok(()),
            Some(Pending::Caller(reply)) => {
                let _ = reply.send(Ok(message));
                Ok(())
            }
            Some(Pending::Info) => self.on_info(socket, session, &message),
            Some(Pending::Register) => self.on_register(socket, session, &message),
            Some(Pending::Subscribe) => {
                self.on_zones(&message);
                Ok(())
            }
        }
    }

    fn answer_core_request(&self, socket: &mut Socket, message: Message) -> Result<(), String> {
        let id = message.request_id;
        let reply = match message.name.as_str() {
            "com.roonlabs.ping:1/ping" => Message::response(Verb::Complete, id, "Success", None),
            "com.roonlabs.status:1/subscribe_status" => {
                let zones = self.shared.lock().zones.len();
                let body = json!({"message": format!("musique is watching {zones} zones"), "is_error": false});
                Message::response(Verb::Continue, id, "Subscribed", Some(body))
            }
            "com.roonlabs.status:1/unsubscribe_status" => Message::response(Verb::Complete, id, "Unsubscribed", None),
            name => {
                let (service, method) = name.split_once('/').unwrap_or((name, ""));
                let error = if PROVIDED_SERVICES.contains(&service) {
                    format!("unknown request name ({service}) : {method}")
                } else {
                    format!("unknown service: {service}")
                };
                Message::response(Verb::Complete, id, "InvalidRequest", Some(json!({ "error": error })))
            }
        };
        write(socket, &reply)
    }

    fn on_info(&self, socket: &mut Socket, session: &mut Session, message: &Message) -> Result<(), String> {
        let body = message.json().cloned().unwrap_or_default();
        let core_id = body["core_id"].as_str().ok_or_else(|| format!("the Core's info has no core_id: {body}"))?;
        let core = PlayerCore {
            id: core_id.to_owned(),
            name: body["display_name"].as_str().unwrap_or("Roon Core").to_owned(),
            version: body["display_version"].as_str().map(str::to_owned),
            address: Some(session.address.clone()),
        };
        self.shared.lock().status.core = Some(core);
        let token = self.host.kv_get(&token_key(core_id)).and_then(|token| String::from_utf8(token).ok());
        let mut register = json!({
            "extension_id": self.config.extension_id,
            "display_name": self.config.display_name,
            "display_version": env!("CARGO_PKG_VERSION"),
            "publisher": "musique",
            "email": "musique@localhost",
            "required_services": REQUIRED_SERVICES,
            "optional_services": OPTIONAL_SERVICES,
            "provided_services": PROVIDED_SERVICES,
        });
        if let Some(token) = token {
            register["token"] = Value::String(token);
        }
        session.send(socket, "com.roonlabs.registry:1/register", Some(register), Pending::Register)?;
        self.set_status(ConnectionState::WaitingApproval, WAITING_APPROVAL.to_owned());
        Ok(())
    }

    fn on_register(&self, socket: &mut Socket, session: &mut Session, message: &Message) -> Result<(), String> {
        if message.name != "Registered" {
            let detail = message.json().map(|body| format!(" {body}")).unwrap_or_default();
            return Err(format!("the Core refused the registration: {}{detail}", message.name));
        }
        let body = message.json().cloned().unwrap_or_default();
        let core_id = body["core_id"].as_str().map(str::to_owned);
        let name = {
            let mut state = self.shared.lock();
            let core = state.status.core.get_or_insert_with(|| PlayerCore {
                id: String::new(),
                name: String::new(),
                version: None,
                address: Some(session.address.clone()),
            });
            if let Some(core_id) = &core_id {
                core.id = core_id.clone();
            }
            if let Some(name) = body["display_name"].as_str() {
                core.name = name.to_owned();
            }
            if let Some(version) = body["display_version"].as_str() {
                core.version = Some(version.to_owned());
            }
            core.name.clone()
        };
        if let (Some(core_id), Some(token)) = (core_id, body["token"].as_str())
            && let Err(err) = self.host.kv_put(&token_key(&core_id), token.as_bytes())
        {
            self.host.log(Level::Error, &format!("roon: cannot keep the Core's token: {err}"));
        }
        session.connected = true;
        session.send(
            socket,
            "com.roonlabs.transport:2/subscribe_zones",
            Some(json!({"subscription_key": 0})),
            Pending::Subscribe,
        )?;
        self.host.log(Level::Info, &format!("roon: registered with {name} at {}", session.address));
        self.set_status(ConnectionState::Connected, format!("connected to {name}"));
        Ok(())
    }

    fn on_zones(&self, message: &Message) {
        let Some(body) = message.json() else { return };
        if message.name != "Subscribed" && message.name != "Changed" {
            return;
        }
        let changed: ZonesChanged = match serde_json::from_value(body.clone()) {
            Ok(changed) => changed,
            Err(err) => {
                self.host.log(Level::Warn, &format!("roon: ignoring a zones message that does not parse: {err}"));
                return;
            }
        };
        let at_ms = self.host.now_ms();
        let mut events = Vec::new();
        {
            let mut guard = self.shared.lock();
            let state = &mut *guard;
            let mut touched: Vec<String> = Vec::new();
            if message.name == "Subscribed" {
                state.zones.clear();
            }
            for zone in changed.zones.into_iter().chain(changed.zones_added).chain(changed.zones_changed) {
                if !touched.contains(&zone.zone_id) {
                    touched.push(zone.zone_id.clone());
                }
                state.zones.insert(zone.zone_id.clone(), zone);
            }
            for seek in &changed.zones_seek_changed {
                if let Some(zone) = state.zones.get_mut(&seek.zone_id) {
                    zone.apply_seek(seek);
                    if !touched.contains(&seek.zone_id) {
                        touched.push(seek.zone_id.clone());
                    }
                }
            }
            for zone_id in &changed.zones_removed {
                if let Some(mut zone) = state.zones.remove(zone_id) {
                    state.radio_started.remove(zone_id);
                    zone.state = "stopped".to_owned();
                    zone.now_playing = None;
                    zone.seek_position = None;
                    events.push(zone.to_playback(None, at_ms));
                }
            }
            for zone_id in touched {
                let Some(zone) = state.zones.get(&zone_id) else { continue };
                let has_length =
                    zone.now_playing.as_ref().and_then(|now| now.length).is_some_and(|length| length > 0.0);
                if has_length {
                    state.radio_started.remove(&zone_id);
                }
                let started = state.radio_started.get(&zone_id).map(String::as_str);
                events.push(zone.to_playback(started, at_ms));
            }
            state.status.zones = state.zones.len() as u32;
        }
        for playback in events {
            let _ = self.host.emit(&Event::Playback(playback));
        }
    }
}

/// One connection's bookkeeping.
struct Session {
    /// The next request id of this side.
    next_id: u64,
    /// Requests waiting for their answer, by request id.
    pending: HashMap<u64, Pending>,
    /// Whether the Core has registered the extension.
    connected: bool,
    /// `host:port`, for the status.
    address: String,
}

impl Session {
    fn send(&mut self, socket: &mut Socket, name: &str, body: Option<Value>, pending: Pending) -> Result<(), String> {
        let id = self.next_id;
        self.next_id += 1;
        write(socket, &Message::request(id, name, body))?;
        self.pending.insert(id, pending);
        Ok(())
    }
}

/// The kv key of a Core's token.
pub fn token_key(core_id: &str) -> String {
    format!("token:{core_id}")
}

fn write(socket: &mut Socket, message: &Message) -> Result<(), String> {
    socket
        .send(tungstenite::Message::binary(message.encode()))
        .map_err(|err| format!("cannot write to the Core: {err}"))
}

fn connect(host: &str, port: u16) -> Result<Socket, String> {
    let address = format!("{host}:{port}");
    let addresses: Vec<SocketAddr> =
        address.to_socket_addrs().map_err(|err| format!("cannot resolve {address}: {err}"))?.collect();
    let mut last_error = format!("{address} has no address");
    for candidate in addresses {
        match TcpStream::connect_timeout(&candidate, Duration::from_secs(5)) {
            Ok(stream) => {
                let _ = stream.set_nodelay(true);
                stream
                    .set_read_timeout(Some(Duration::from_secs(5)))
                    .map_err(|err| format!("cannot set up the socket: {err}"))?;
                let config = WebSocketConfig::default()
                    .max_message_size(Some(MAX_FRAME_BYTES))
                    .max_frame_size(Some(MAX_FRAME_BYTES));
                let url = format!("ws://{address}/api");
                let (socket, _) = tungstenite::client::client_with_config(url.as_str(), stream, Some(config))
                    .map_err(|err| format!("the WebSocket handshake with {address} failed: {err}"))?;
                socket
                    .get_ref()
                    .set_read_timeout(Some(POLL))
                    .map_err(|err| format!("cannot set up the socket: {err}"))?;
                return Ok(socket);
            }
            Err(err) => last_error = format!("cannot connect to {address}: {err}"),
        }
    }
    Err(last_error)
}
