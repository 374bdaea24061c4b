//! `implementations.yaml`: the implementations streamcheck publishes reports for, each with how
//! to install it and how to start its adapter (`streamcheck run --impl NAME`).

use serde::Deserialize;
use std::path::Path;

/// One implementation under test.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Implementation {
    /// Its folder under reports/.
    pub name: String,
    pub description: String,
    pub homepage: String,
    /// The pinned version.
    pub version: String,
    /// One idempotent shell command that installs what it needs.
    pub install: String,
    /// The adapter's command line.
    pub start: String,
}

/// Reads the file; the error names the file and says what to fix.
pub fn load(path: &Path) -> Result<Vec<Implementation>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}; run from the repository root", path.display()))?;
    let list: Vec<Implementation> = crate::scenario::load::from_yaml(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut names = std::collections::BTreeSet::new();
    for i in &list {
        if !names.insert(i.name.as_str()) {
            return Err(format!("{}: `{}` is listed twice: names must be unique", path.display(), i.name));
        }
    }
    Ok(list)
}

/// Finds `name`, or says which names exist.
pub fn find(list: &[Implementation], name: &str) -> Result<Implementation, String> {
    list.iter().find(|i| i.name == name).cloned().ok_or_else(|| {
        let names: Vec<&str> = list.iter().map(|i| i.name.as_str()).collect();
        format!("no implementation named `{name}` in implementations.yaml; the names are: {}", names.join(", "))
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_committed_file_loads_and_every_entry_starts_an_adapter_in_the_repo() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let list = super::load(&root.join("implementations.yaml")).unwrap();
        assert!(list.len() >= 8, "{list:?}");
        for i in &list {
            assert!(i.start.contains("adapters/"), "{}: start runs an adapter of this repository: {}", i.name, i.start);
        }
        assert!(super::find(&list, "cpython-3.13").is_ok());
        assert!(super::find(&list, "nope").unwrap_err().contains("cpython-3.13"));
    }
    use std::path::Path;
}
