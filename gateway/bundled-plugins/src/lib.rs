//! The first-party plugins of `plugins/`, compiled to wasm components by this crate's build
//! script and embedded with their `plugin.toml`, so `deskbridge serve` runs them with no files
//! on disk.

/// One embedded plugin.
#[derive(Debug, Clone, Copy)]
pub struct BundledPlugin {
    /// The plugin id (also its folder under `plugins/`).
    pub id: &'static str,
    /// The component.
    pub wasm: &'static [u8],
    /// The manifest's TOML text.
    pub manifest: &'static str,
}

include!(concat!(env!("OUT_DIR"), "/bundled.rs"));

/// The embedded plugin with that id.
pub fn get(id: &str) -> Option<&'static BundledPlugin> {
    ALL.iter().find(|p| p.id == id)
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_plugin_is_a_component_with_its_manifest() {
        assert_eq!(super::ALL.len(), 4);
        for plugin in super::ALL {
            // A component starts with the wasm magic and the component-model layer byte.
            assert_eq!(&plugin.wasm[..4], b"\0asm", "{}", plugin.id);
            assert_eq!(
                plugin.wasm[6..8],
                [1, 0],
                "{} is not a component",
                plugin.id
            );
            assert!(plugin.manifest.contains(&format!("id = \"{}\"", plugin.id)));
        }
        assert!(super::get("summarize").is_some());
        assert!(super::get("nope").is_none());
    }
}
