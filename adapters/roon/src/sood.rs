//! SOOD, the discovery protocol of Roon Cores: a small binary query sent to a
//! multicast group and to the broadcast address on UDP port 9003, answered by
//! every Core with a unicast reply that names its id and its WebSocket port.
//!
//! A packet is `SOOD`, the byte 2, a type byte (`Q` or `R`), then properties:
//! a one-byte name length, the name, a big-endian two-byte value length
//! (`0xFFFF` for a null value) and the value.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

/// The service id of a Roon Core.
pub const ROON_CORE_SERVICE_ID: &str = "00720724-5143-4a9b-abac-0e50cba674bb";
/// The multicast address queries go to.
pub const MULTICAST: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::new(239, 255, 90, 90)), 9003);
/// The broadcast address queries also go to.
pub const BROADCAST: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::BROADCAST), 9003);

/// A SOOD packet: its type and its properties (null values are `None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// `b'Q'` for a query, `b'R'` for a reply.
    pub kind: u8,
    /// The properties, in order.
    pub properties: Vec<(String, Option<String>)>,
}

/// How often a discovery in progress asks whether it should end.
pub const CANCEL_CHECK: Duration = Duration::from_millis(50);

/// How long discovery keeps listening after the first Core answered.
pub const ANSWER_GRACE: Duration = Duration::from_millis(250);

/// A Core that answered a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundCore {
    /// Its `unique_id`: the core id.
    pub core_id: String,
    /// Its name.
    pub name: String,
    /// Its version, as it says.
    pub version: Option<String>,
    /// The host to connect to: the reply's source address (or `_replyaddr`).
    pub host: String,
    /// Its WebSocket port (`http_port`).
    pub port: u16,
}

impl Packet {
    /// The query for Roon Cores, with a transaction id.
    pub fn query(transaction_id: &str) -> Packet {
        Packet {
            kind: b'Q',
            properties: vec![
                ("query_service_id".to_owned(), Some(ROON_CORE_SERVICE_ID.to_owned())),
                ("_tid".to_owned(), Some(transaction_id.to_owned())),
            ],
        }
    }

    /// The value of a property (the first one of that name).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.properties.iter().find(|(key, _)| key == name).and_then(|(_, value)| value.as_deref())
    }

    /// The bytes of the packet.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = b"SOOD\x02".to_vec();
        out.push(self.kind);
        for (name, value) in &self.properties {
            let name = &name.as_bytes()[..name.len().min(255)];
            out.push(name.len() as u8);
            out.extend_from_slice(name);
            match value {
                None => out.extend_from_slice(&[0xFF, 0xFF]),
                Some(value) => {
                    let value = &value.as_bytes()[..value.len().min(0xFFFE)];
                    out.extend_from_slice(&(value.len() as u16).to_be_bytes());
                    out.extend_from_slice(value);
                }
            }
        }
        out
    }

    /// Parses a packet; `None` for anything that is not SOOD version 2.
    pub fn decode(bytes: &[u8]) -> Option<Packet> {
        let rest = bytes.strip_prefix(b"SOOD\x02")?;
        let (&kind, mut rest) = rest.split_first()?;
        let mut properties = Vec::new();
        while let Some((&name_length, after)) = rest.split_first() {
            let name = after.get(..name_length as usize)?;
            let after = &after[name_length as usize..];
            let length = u16::from_be_bytes([*after.first()?, *after.get(1)?]);
            let after = &after[2..];
            let (value, after) = if length == 0xFFFF {
                (None, after)
            } else {
                let value = after.get(..length as usize)?;
                (Some(String::from_utf8_lossy(value).into_owned()), &after[length as usize..])
            };
            properties.push((String::from_utf8_lossy(name).into_owned(), value));
            rest = after;
        }
        Some(Packet { kind, properties })
    }

    /// The Core this reply describes, when it is a Roon Core's reply.
    pub fn core(&self, source: SocketAddr) -> Option<FoundCore> {
        if self.kind != b'R' || self.get("service_id") != Some(ROON_CORE_SERVICE_ID) {
            return None;
        }
        let core_id = self.get("unique_id")?.to_owned();
        let port = self.get("http_port")?.trim().parse().ok()?;
        let host = match self.get("_replyaddr") {
            Some(address) if !address.is_empty() => address.to_owned(),
            _ => source.ip().to_string(),
        };
        Some(FoundCore {
            core_id,
            name: self.get("name").unwrap_or("Roon Core").to_owned(),
            version: self.get("display_version").map(str::to_owned),
            host,
            port,
        })
    }
}

/// Sends a query to each of `targets` and collects the Cores that answer within `wait`
/// (or within [`ANSWER_GRACE`] of the first answer), one per core id, in the order they answered.
pub fn discover(targets: &[SocketAddr], wait: Duration) -> std::io::Result<Vec<FoundCore>> {
    discover_until(targets, wait, &|| false)
}

/// [`discover`], ending early (with what was found) once `cancelled` says so; it is
/// asked at least every [`CANCEL_CHECK`].
pub fn discover_until(
    targets: &[SocketAddr],
    wait: Duration,
    cancelled: &dyn Fn() -> bool,
) -> std::io::Result<Vec<FoundCore>> {
    let socket = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))?;
    socket.set_broadcast(true)?;
    // Multicast TTL above one so a Core on a routed segment may still hear it.
    let _ = socket.set_multicast_ttl_v4(32);
    let transaction_id = transaction_id();
    let query = Packet::query(&transaction_id).encode();
    let mut sent = 0;
    let mut last_error = None;
    for target in targets {
        match socket.send_to(&query, target) {
            Ok(_) => sent += 1,
            Err(err) => last_error = Some(err),
        }
    }
    if sent == 0
        && let Some(err) = last_error
    {
        return Err(err);
    }
    let mut deadline = Instant::now() + wait;
    let mut found: BTreeMap<String, usize> = BTreeMap::new();
    let mut cores = Vec::new();
    let mut buffer = [0u8; 2048];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || cancelled() {
            break;
        }
        socket.set_read_timeout(Some(left.min(CANCEL_CHECK)))?;
        let (length, source) = match socket.recv_from(&mut buffer) {
            Ok(received) => received,
            Err(err) if matches!(err.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => continue,
            // ICMP "port unreachable" from a target with nobody listening: keep waiting for others.
            Err(err) if err.kind() == std::io::ErrorKind::ConnectionRefused => continue,
            Err(err) => return Err(err),
        };
        let Some(core) = Packet::decode(&buffer[..length]).and_then(|packet| packet.core(source)) else {
            continue;
        };
        if found.contains_key(&core.core_id) {
            continue;
        }
        found.insert(core.core_id.clone(), cores.len());
        cores.push(core);
        // Cores on one network answer together: once one has, the others get a short grace only.
        deadline = deadline.min(Instant::now() + ANSWER_GRACE);
    }
    Ok(cores)
}

/// A transaction id in the shape of a uuid, unique enough to tell replies apart.
fn transaction_id() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
    let mixed = nanos ^ (u128::from(std::process::id()) << 64);
    let hex = format!("{mixed:032x}");
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The query of the reference, as pyroon ships it (104 bytes).
    const QUERY: &str = "534f4f4402511071756572795f736572766963655f6964002430303732303732\
        342d353134332d346139622d616261632d306535306362613637346262045f74\
        6964002463363465333838382d663266322d346334612d396638392d32303933\
        6165343231376136";

    /// The reference's fake-Core reply.
    const REPLY: &str = "534f4f440252046e616d65000e46616b6520526f6f6e20436f72650f64697370\
        6c61795f76657273696f6e001b322e3020286275696c64203135303029207072\
        6f64756374696f6e09756e697175655f6964002066616b652d636f72652d3030\
        30302d303030302d3030303030303030303030310a736572766963655f696400\
        2430303732303732342d353134332d346139622d616261632d30653530636261\
        3637346262087463705f706f727400043931353009687474705f706f72740004\
        39333330045f746964002463363465333838382d663266322d346334612d3966\
        38392d323039336165343231376136";

    fn unhex(text: &str) -> Vec<u8> {
        let digits: Vec<u8> = text.bytes().filter(u8::is_ascii_hexdigit).collect();
        digits.chunks(2).map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap()).collect()
    }

    #[test]
    fn the_query_is_the_reference_bytes() {
        let bytes = Packet::query("c64e3888-f2f2-4c4a-9f89-2093ae4217a6").encode();
        assert_eq!(bytes.len(), 104);
        assert_eq!(bytes, unhex(QUERY));
        assert_eq!(Packet::decode(&bytes).unwrap(), Packet::query("c64e3888-f2f2-4c4a-9f89-2093ae4217a6"));
    }

    #[test]
    fn the_reference_reply_parses() {
        let packet = Packet::decode(&unhex(REPLY)).expect("parses");
        assert_eq!(packet.encode(), unhex(REPLY));
        let core = packet.core("192.0.2.2:9003".parse().unwrap()).expect("a Roon Core");
        assert_eq!(
            core,
            FoundCore {
                core_id: "fake-core-0000-0000-000000000001".into(),
                name: "Fake Roon Core".into(),
                version: Some("2.0 (build 1500) production".into()),
                host: "192.0.2.2".into(),
                port: 9330,
            }
        );
    }

    #[test]
    fn other_services_nulls_and_truncation() {
        let mut packet = Packet::decode(&unhex(REPLY)).unwrap();
        packet.properties[3].1 = Some("another-service".into());
        assert_eq!(packet.core("192.0.2.2:9003".parse().unwrap()), None);
        let with_null =
            Packet { kind: b'R', properties: vec![("name".into(), None), ("x".into(), Some(String::new()))] };
        assert_eq!(Packet::decode(&with_null.encode()).unwrap(), with_null);
        let bytes = unhex(REPLY);
        assert_eq!(Packet::decode(&bytes[..bytes.len() - 3]), None);
        assert_eq!(Packet::decode(b"SOOD\x01R"), None);
    }
}
