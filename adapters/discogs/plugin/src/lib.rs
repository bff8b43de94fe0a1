//! The Discogs adapter as a drop-in plugin: the same code musiqued links in,
//! exported through the plugin ABI. Copy the built library into the plugins
//! directory to run a newer build than the one linked into musiqued.

musique_sdk::export_plugin!(musique_discogs::Discogs);
