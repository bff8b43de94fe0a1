//! The wire format of the typed values: the JSON each variant becomes, and
//! what older and newer peers send decoding as documented.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{
    CollectionSort, ComponentState, EnrichmentKind, ExportFormat, Feature, ImportKind, PluginOrigin, PluginState,
    RunKind,
};

/// Serializes every value to its JSON string, and checks it decodes back to itself.
fn wire<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(values: &[T]) -> Vec<String> {
    values
        .iter()
        .map(|value| {
            let json = serde_json::to_value(value).unwrap();
            assert_eq!(&serde_json::from_value::<T>(json.clone()).unwrap(), value);
            json.as_str().unwrap_or_else(|| panic!("{value:?} is not a string on the wire: {json}")).to_owned()
        })
        .collect()
}

#[test]
fn closed_sets_keep_their_names() {
    let states = [
        ComponentState::Running,
        ComponentState::Idle,
        ComponentState::Off,
        ComponentState::Ok,
        ComponentState::Degraded,
        ComponentState::Invalid,
        ComponentState::Failed,
        ComponentState::Unknown,
    ];
    assert_eq!(wire(&states), ["running", "idle", "off", "ok", "degraded", "invalid", "failed", "unknown"]);
    assert_eq!(wire(&states), states.map(|state| state.as_str()));

    let origins = [PluginOrigin::Dynamic, PluginOrigin::Builtin, PluginOrigin::Unknown];
    assert_eq!(wire(&origins), ["dynamic", "builtin", "unknown"]);
    assert_eq!(wire(&origins), origins.map(|origin| origin.as_str()));

    let plugin_states = [PluginState::Running, PluginState::Failed, PluginState::Disabled, PluginState::Unknown];
    assert_eq!(wire(&plugin_states), ["running", "failed", "disabled", "unknown"]);
    assert_eq!(wire(&plugin_states), plugin_states.map(|state| state.as_str()));

    let kinds = [EnrichmentKind::Artist, EnrichmentKind::Album];
    assert_eq!(wire(&kinds), ["artist", "album"]);
    assert_eq!(wire(&kinds), kinds.map(|kind| kind.as_str()));

    let sorts = [CollectionSort::Artist, CollectionSort::Title, CollectionSort::Year, CollectionSort::Added];
    assert_eq!(wire(&sorts), ["artist", "title", "year", "added"]);
    assert_eq!(wire(&sorts), sorts.map(|sort| sort.as_str()));

    let formats = [ExportFormat::Markdown, ExportFormat::Json, ExportFormat::Csv];
    assert_eq!(wire(&formats), ["markdown", "json", "csv"]);
    assert_eq!(wire(&formats), formats.map(|format| format.as_str()));

    assert_eq!(wire(&Feature::ALL), ["imports", "search", "stats", "events", "plugins", "adapters", "scrobbling"]);
    assert_eq!(wire(&Feature::ALL), Feature::ALL.map(|feature| feature.as_str()));
}

#[test]
fn names_newer_daemons_send_decode_as_unknown() {
    let hello: crate::Hello = serde_json::from_str(
        r#"{"api_version":4,"daemon_version":"9.0.0","features":["imports","teleport","events"]}"#,
    )
    .unwrap();
    assert_eq!(hello.features, [Feature::Imports, Feature::Unknown, Feature::Events]);
    assert!(serde_json::to_string(&Feature::Unknown).is_err(), "clients never announce what they do not know");
    let state: ComponentState = serde_json::from_str(r#""starting""#).unwrap();
    assert_eq!(state, ComponentState::Unknown);
    let state: PluginState = serde_json::from_str(r#""quarantined""#).unwrap();
    assert_eq!(state, PluginState::Unknown);
    assert!(serde_json::from_str::<EnrichmentKind>(r#""track""#).is_err());
}

#[test]
fn wire_names_compare_with_text() {
    assert!(PluginState::Running == "running");
    assert!(ComponentState::Degraded != "running");
    assert_eq!(PluginOrigin::Builtin.to_string(), "builtin");
}

#[test]
fn run_kinds_are_formats_or_adapter_names() {
    let kinds = [
        RunKind::File(ImportKind::Spotify),
        RunKind::File(ImportKind::LastfmCsv),
        RunKind::File(ImportKind::Listenbrainz),
        RunKind::Adapter("lastfm".into()),
        RunKind::Adapter("csvfeed".into()),
    ];
    assert_eq!(wire(&kinds), ["spotify", "lastfm-csv", "listenbrainz", "lastfm", "csvfeed"]);
    assert_eq!(kinds.iter().map(RunKind::as_str).collect::<Vec<_>>(), wire(&kinds));
    assert_eq!(kinds.iter().map(RunKind::is_adapter).collect::<Vec<_>>(), [false, false, false, true, true]);
    assert_eq!(RunKind::from_name("listenbrainz"), RunKind::File(ImportKind::Listenbrainz));
    assert!(RunKind::Adapter("csvfeed".into()) == "csvfeed");
}
