//! The fake Core's sockets: a TCP listener that serves the WebSocket at
//! `/api` and images at `/api/image/<key>`, one thread per connection, and
//! the SOOD responder on UDP.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use musique_roon::moo::Message;
use musique_roon::sood::{Packet, ROON_CORE_SERVICE_ID};

use crate::{Connection, Inner, Node};

/// A 1×1 PNG, the answer to every image request.
pub(crate) const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0b, 0x49,
    0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0x0f, 0x04, 0x00, 0x09, 0xfb, 0x03, 0xfd, 0xfb, 0x5e, 0x6b, 0x2b, 0x00,
    0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

/// How long a connection thread blocks on a read before it looks at its queue.
const POLL: Duration = Duration::from_millis(5);

/// What a connection thread is asked to do.
#[derive(Debug)]
pub(crate) enum Out {
    /// Send these bytes as one binary frame.
    Frame(Vec<u8>),
    /// Close the connection.
    Close,
}

/// The listener and its accept thread.
#[derive(Debug)]
pub(crate) struct Server {
    address: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    pub(crate) fn start(inner: Arc<Inner>, port: u16) -> std::io::Result<Server> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port))?;
        let address = listener.local_addr()?;
        inner.update(|state| state.port = address.port());
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new().name("fake-roon-accept".to_owned()).spawn(move || {
            for stream in listener.incoming() {
                if flag.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                let inner = inner.clone();
                let _ = std::thread::Builder::new().name("fake-roon-connection".to_owned()).spawn(move || {
                    serve(inner, stream);
                });
            }
        })?;
        Ok(Server { address, stop, thread: Some(thread) })
    }

    /// Stops accepting; open connections are closed by the caller.
    pub(crate) fn stop(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept thread so it sees the flag.
        let _ = TcpStream::connect_timeout(&self.address, Duration::from_secs(1));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A stream whose first bytes were already read (the HTTP request head).
struct Prefixed {
    prefix: Vec<u8>,
    position: usize,
    stream: TcpStream,
}

impl Read for Prefixed {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        if self.position < self.prefix.len() {
            let count = buffer.len().min(self.prefix.len() - self.position);
            buffer[..count].copy_from_slice(&self.prefix[self.position..self.position + count]);
            self.position += count;
            return Ok(count);
        }
        self.stream.read(buffer)
    }
}

impl Write for Prefixed {
    fn write(&mut self, buffer: &[u8]) -> std::io::Result<usize> {
        self.stream.write(buffer)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.stream.flush()
    }
}

/// Serves one TCP connection: an image request, or the WebSocket.
fn serve(inner: Arc<Inner>, mut stream: TcpStream) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut head = Vec::new();
    let mut buffer = [0u8; 1024];
    while !head.windows(4).any(|window| window == b"\r\n\r\n") {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => return,
            Ok(count) => head.extend_from_slice(&buffer[..count]),
        }
        if head.len() > 64 * 1024 {
            return;
        }
    }
    let text = String::from_utf8_lossy(&head).to_lowercase();
    let path = text.split_whitespace().nth(1).unwrap_or_default().to_owned();
    if !text.contains("upgrade: websocket") {
        let response: Vec<u8> = if path.starts_with("/api/image/") {
            let mut response = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                PNG.len()
            )
            .into_bytes();
            response.extend_from_slice(PNG);
            response
        } else {
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec()
        };
        let _ = stream.write_all(&response);
        return;
    }
    if path.split('?').next() != Some("/api") {
        let _ = stream.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        return;
    }
    let Ok(mut socket) = tungstenite::accept(Prefixed { prefix: head, position: 0, stream }) else { return };
    if socket.get_ref().stream.set_read_timeout(Some(POLL)).is_err() {
        return;
    }
    let (out, queue) = mpsc::channel();
    let id = inner.update(|state| {
        state.connections_accepted += 1;
        state.connections_open += 1;
        let id = state.connections_accepted;
        state.connections.push(Connection {
            id,
            out,
            zones_subscription: None,
            registered: false,
            stack: vec![Node::Root],
            keys: Default::default(),
        });
        id
    });
    run(&inner, id, &mut socket, &queue);
    inner.update(|state| {
        state.connections.retain(|connection| connection.id != id);
        state.connections_open -= 1;
        state.held_registrations.retain(|held| held.connection != id);
        state.held = state.held_registrations.len();
        state.subscriptions =
            state.connections.iter().filter(|connection| connection.zones_subscription.is_some()).count() as u64;
    });
}

fn run(inner: &Inner, id: u64, socket: &mut tungstenite::WebSocket<Prefixed>, queue: &Receiver<Out>) {
    loop {
        while let Ok(out) = queue.try_recv() {
            match out {
                Out::Frame(bytes) => {
                    if socket.send(tungstenite::Message::binary(bytes)).is_err() {
                        return;
                    }
                }
                Out::Close => {
                    let _ = socket.close(None);
                    let _ = socket.flush();
                    let _ = socket.get_ref().stream.shutdown(std::net::Shutdown::Both);
                    return;
                }
            }
        }
        let bytes = match socket.read() {
            Ok(tungstenite::Message::Binary(bytes)) => bytes.to_vec(),
            Ok(tungstenite::Message::Text(text)) => text.as_bytes().to_vec(),
            Ok(tungstenite::Message::Close(_)) => return,
            Ok(_) => continue,
            Err(tungstenite::Error::Io(err))
                if matches!(err.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) =>
            {
                continue;
            }
            Err(_) => return,
        };
        let message = match Message::decode(&bytes) {
            Ok(Some(message)) => message,
            Ok(None) => continue,
            Err(_) => return,
        };
        let reply = inner.update(|state| crate::handle(state, id, message));
        if let Some(reply) = reply
            && socket.send(tungstenite::Message::binary(reply.encode())).is_err()
        {
            return;
        }
    }
}

/// The SOOD responder.
#[derive(Debug)]
pub(crate) struct Responder {
    address: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Responder {
    pub(crate) fn start(inner: Arc<Inner>, port: u16) -> std::io::Result<Responder> {
        let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, port))?;
        socket.set_read_timeout(Some(Duration::from_millis(20)))?;
        let address = socket.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new().name("fake-roon-sood".to_owned()).spawn(move || {
            let mut buffer = [0u8; 2048];
            while !flag.load(Ordering::SeqCst) {
                let Ok((length, source)) = socket.recv_from(&mut buffer) else { continue };
                let Some(query) = Packet::decode(&buffer[..length]) else { continue };
                if query.kind != b'Q' || query.get("query_service_id") != Some(ROON_CORE_SERVICE_ID) {
                    continue;
                }
                let (core_id, name, port) = {
                    let state = inner.lock();
                    (state.core_id.clone(), state.name.clone(), state.port)
                };
                let property = |name: &str, value: &str| (name.to_owned(), Some(value.to_owned()));
                let mut properties = vec![
                    property("name", &name),
                    property("display_version", "2.0 (build 1500) production"),
                    property("unique_id", &core_id),
                    property("service_id", ROON_CORE_SERVICE_ID),
                    property("tcp_port", "9150"),
                    property("http_port", &port.to_string()),
                ];
                if let Some(transaction) = query.get("_tid") {
                    properties.push(property("_tid", transaction));
                }
                let reply = Packet { kind: b'R', properties }.encode();
                let _ = socket.send_to(&reply, source);
            }
        })?;
        Ok(Responder { address, stop, thread: Mutex::new(Some(thread)) })
    }

    pub(crate) fn address(&self) -> SocketAddr {
        self.address
    }

    pub(crate) fn stop(self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.lock().unwrap_or_else(|poison| poison.into_inner()).take() {
            let _ = thread.join();
        }
    }
}
