//! Checks of the source tree's shape, so that it stays the way docs/ARCHITECTURE.md says:
//!
//! * only `src/sys/` calls libc: elsewhere no `libc::name(` call, no `use libc::` import and no
//!   `extern "C" {` block (libc *types* and *constants* are fine everywhere), except the
//!   declarations listed in [`FOREIGN_OK`] with their reason;
//! * the only C sources are those listed in [`C_SOURCES`], with their reason;
//! * the dependency rule: every module imports only from layers below its own ([`LAYERS`], the
//!   same table as at the top of `src/engine/mod.rs`);
//! * no file in `src/` is longer than 600 lines, not counting its `#[cfg(test)]` tests;
//! * docs/ARCHITECTURE.md names every module file, and every function it names exists.
//!
//! This is a source scan (comments and string literals are skipped), run by `cargo test` and so by
//! `make check` and CI.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// Module -> layer. A module may import only from modules of a lower layer; a module not listed
/// takes the layer of its nearest listed ancestor, and a module may use its own descendants (a
/// directory module composing its children) and itself. Units whose insides are not layered
/// (`sys`, `notify`, `posix`) import freely within themselves.
const LAYERS: &[(&str, u32)] = &[
    ("abi", 0),
    ("errno", 0),
    ("ext", 0),
    ("version", 0),
    ("sys", 1),
    ("notify", 2),
    ("engine::request", 3),
    ("engine::backend", 4),
    ("engine::backend::threads::ready", 4),
    ("engine::fd::ordering", 4),
    ("engine::stats", 4),
    ("engine::fd::table", 5),
    ("engine::queue", 6),
    ("engine::inline", 6),
    ("engine::core", 7),
    ("engine::batch", 8),
    ("engine::group", 8),
    ("engine::fd", 9),
    ("engine::complete", 10),
    ("engine::deferred", 11),
    ("engine::submit", 12),
    ("engine::wait", 12),
    ("engine::cancel", 13),
    ("engine::lio", 13),
    ("engine::helper", 13),
    ("engine::fork", 13),
    ("engine::cq", 13),
    ("engine", 14),
    ("posix", 15),
    ("", 16),
];

/// Files outside `src/sys/` that may declare foreign functions (an `extern "C" {` block), and why.
const FOREIGN_OK: &[(&str, &str)] = &[(
    "src/posix/frame.rs",
    "declares the two C frames of src/posix/frame.c (this crate's own C code, where aio_suspend and \
     lio_listio sleep as cancellation points so that a cancelled thread is unwound without crossing \
     a Rust frame), not libc functions",
)];

/// The C sources of the crate (built by build.rs), and why each is C.
const C_SOURCES: &[(&str, &str)] = &[
    (
        "src/posix/frame.c",
        "the sleeping frame of aio_suspend and lio_listio: pthread_cleanup_push and the asynchronous \
         cancellation around one raw system call, which Rust cannot express without putting its own \
         frames on the unwound stack (see src/posix/frame.rs)",
    ),
    (
        "src/notify/runner.c",
        "the thread body of SIGEV_THREAD callbacks: a callback may call pthread_exit or be cancelled, \
         and that unwinding must cross no Rust frame, so the thread starts in C and calls each \
         callback from C, with a cleanup handler that tells the pool the thread ended (declared in \
         src/sys/thread.rs)",
    ),
];

/// Units that are one layer inside: their modules may import each other.
const UNITS: &[&str] = &["sys", "notify", "posix"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Every `.rs` file under `src/`, with its module path (`engine::fd::table`; `""` for lib.rs).
fn modules() -> Vec<(String, PathBuf)> {
    let src = root().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let rel = p.strip_prefix(&src).unwrap().with_extension("");
            let mut parts: Vec<String> = rel.iter().map(|s| s.to_string_lossy().into_owned()).collect();
            if parts.last().is_some_and(|l| l == "mod" || l == "lib") {
                parts.pop();
            }
            (parts.join("::"), p)
        })
        .collect()
}

/// The source with comments and the contents of string and char literals blanked out (line
/// structure kept).
fn code_only(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if c == b'/' && b.get(i + 1) == Some(&b'*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                    depth += 1;
                    i += 2;
                } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if b[i] == b'\n' {
                        out.push('\n');
                    }
                    i += 1;
                }
            }
        } else if c == b'"' {
            out.push('"');
            i += 1;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' {
                    i += 1;
                }
                if i < b.len() && b[i] == b'\n' {
                    out.push('\n');
                }
                i += 1;
            }
            out.push('"');
            i += 1;
        } else if c == b'\'' && b.get(i + 2) == Some(&b'\'') {
            out.push_str("' '");
            i += 3;
        } else if c == b'\'' && b.get(i + 1) == Some(&b'\\') {
            // '\n', '\0', '\x7f' ...
            out.push_str("' '");
            i += 2;
            while i < b.len() && b[i] != b'\'' {
                i += 1;
            }
            i += 1;
        } else {
            out.push(c as char);
            i += 1;
        }
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Expands a `use` tree (`a::{b, c::{d, e}}`) into full paths.
fn expand(tree: &str) -> Vec<String> {
    let tree = tree.trim();
    let Some(open) = tree.find('{') else {
        let path = tree.split(" as ").next().unwrap().trim();
        return vec![path.to_string()];
    };
    let prefix = tree[..open].trim_end_matches("::").trim();
    let inner = &tree[open + 1..tree.rfind('}').unwrap()];
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
        .into_iter()
        .filter(|p| !p.trim().is_empty())
        .flat_map(expand)
        .map(|p| if p == "self" { prefix.to_string() } else { format!("{prefix}::{p}") })
        .collect()
}

/// Every crate-relative path a file mentions: its `use` declarations and any `crate::`,
/// `super::` or `self::` path in its code.
fn paths_in(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("use ") {
        let before = rest[..i].chars().last();
        let after = &rest[i + 4..];
        if before.is_none_or(|c| !is_ident(c)) {
            if let Some(end) = after.find(';') {
                out.extend(expand(&after[..end]));
            }
        }
        rest = after;
    }
    for start in ["crate::", "super::", "self::"] {
        let mut from = 0;
        while let Some(i) = code[from..].find(start) {
            let at = from + i;
            from = at + start.len();
            if code[..at].chars().last().is_some_and(|c| is_ident(c) || c == ':') {
                continue;
            }
            let end = code[at..].find(|c: char| !(is_ident(c) || c == ':')).map_or(code.len(), |e| at + e);
            out.push(code[at..end].trim_end_matches(':').to_string());
        }
    }
    out
}

/// Resolves `path` (as written in module `module`) to a crate-rooted list of segments, or None
/// for a path outside the crate.
fn resolve(module: &str, path: &str) -> Option<Vec<String>> {
    let mut segs: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
    let mut base: Vec<String> =
        if module.is_empty() { Vec::new() } else { module.split("::").map(String::from).collect() };
    match segs.first().copied() {
        Some("crate") => {
            base.clear();
            segs.remove(0);
        }
        Some("self") => {
            segs.remove(0);
        }
        Some("super") => {
            while segs.first() == Some(&"super") {
                segs.remove(0);
                base.pop()?;
            }
        }
        _ => return None,
    }
    base.extend(segs.into_iter().map(String::from));
    Some(base)
}

/// The listed module a crate path falls in (the longest listed prefix) and its layer.
fn layer_of(segs: &[String]) -> (String, u32) {
    let mut best = ("", u32::MAX, 0usize);
    for &(m, l) in LAYERS {
        let ms: Vec<&str> = if m.is_empty() { Vec::new() } else { m.split("::").collect() };
        if ms.len() <= segs.len()
            && ms.iter().zip(segs).all(|(a, b)| a == b)
            && (best.1 == u32::MAX || ms.len() > best.2)
        {
            best = (m, l, ms.len());
        }
    }
    (best.0.to_string(), best.1)
}

fn unit_of(m: &str) -> Option<&'static str> {
    UNITS.iter().copied().find(|u| m == *u || m.starts_with(&format!("{u}::")))
}

#[test]
fn only_sys_calls_libc() {
    let mut bad = Vec::new();
    for (module, path) in modules() {
        if module == "sys" || module.starts_with("sys::") {
            continue;
        }
        let rel = format!("src/{}", path.strip_prefix(root().join("src")).unwrap().display());
        let foreign_ok = FOREIGN_OK.iter().any(|(f, why)| *f == rel && !why.is_empty());
        let code = code_only(&fs::read_to_string(&path).unwrap());
        for (n, line) in code.lines().enumerate() {
            let mut why = None;
            for (j, _) in line.match_indices("libc::") {
                let tail = &line[j + 6..];
                let end = tail.find(|c: char| !is_ident(c)).unwrap_or(tail.len());
                if tail[end..].trim_start().starts_with('(') {
                    why = Some("calls a libc function");
                }
            }
            if line.trim_start().starts_with("use libc::") {
                why = Some("imports from libc");
            }
            // String literals are blanked: `extern "C" {` reads `extern "" {` here.
            if !foreign_ok && (line.contains("extern \"\" {") || line.contains("extern \"\"{")) {
                why = Some("declares foreign functions");
            }
            if let Some(w) = why {
                bad.push(format!("{}:{}: {w}: {}", path.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(bad.is_empty(), "only src/sys/ may call libc (see src/sys/mod.rs):\n{}", bad.join("\n"));
}

#[test]
fn c_sources_are_listed() {
    fn c_files(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                c_files(&p, out);
            } else if p.extension().is_some_and(|x| x == "c" || x == "h") {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    c_files(&root().join("src"), &mut files);
    let mut bad = Vec::new();
    for p in files {
        let rel = p.strip_prefix(root()).unwrap().display().to_string();
        if !C_SOURCES.iter().any(|(f, _)| *f == rel) {
            bad.push(format!("{rel}: a C source not listed in C_SOURCES"));
        }
    }
    for (f, _) in C_SOURCES {
        if !root().join(f).exists() {
            bad.push(format!("{f}: listed in C_SOURCES but missing"));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn modules_import_only_from_lower_layers() {
    let mut bad = BTreeSet::new();
    for (file_module, path) in modules() {
        let code = code_only(&fs::read_to_string(&path).unwrap());
        // A file's `#[cfg(test)] mod tests` is a module of its own (its `super` is the file).
        let (main, tests) = match code.find("#[cfg(test)]\nmod tests") {
            Some(i) => (&code[..i], &code[i..]),
            None => (&code[..], ""),
        };
        let test_module = if file_module.is_empty() { "tests".to_string() } else { format!("{file_module}::tests") };
        for (module, code) in [(file_module.clone(), main), (test_module, tests)] {
            let segs_of = |m: &str| m.split("::").filter(|s| !s.is_empty()).map(String::from).collect::<Vec<_>>();
            let (own, own_layer) = layer_of(&segs_of(&module));
            for p in paths_in(code) {
                let Some(segs) = resolve(&module, &p) else { continue };
                let target = segs.join("::");
                // Itself and its own descendants (a directory module composing its children); the
                // crate root declares everything.
                if target == module || target.starts_with(&format!("{module}::")) || file_module.is_empty() {
                    continue;
                }
                let (tm, tl) = layer_of(&segs);
                if tm == own {
                    continue;
                }
                if let (Some(a), Some(b)) = (unit_of(&module), unit_of(&tm)) {
                    if a == b {
                        continue;
                    }
                }
                if tl >= own_layer {
                    bad.insert(format!("{} ({module}, layer {own_layer}) uses {p} ({tm}, layer {tl})", path.display()));
                }
            }
        }
    }
    assert!(
        bad.is_empty(),
        "dependency rule broken (see src/engine/mod.rs):\n{}",
        bad.into_iter().collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn no_source_file_over_600_lines() {
    let mut bad = Vec::new();
    for (_, path) in modules() {
        let text = fs::read_to_string(&path).unwrap();
        let lines = text.lines().take_while(|l| l.trim() != "#[cfg(test)]").count();
        if lines > 600 {
            bad.push(format!("{}: {lines} lines (tests aside)", path.display()));
        }
    }
    assert!(bad.is_empty(), "files over 600 lines:\n{}", bad.join("\n"));
}

#[test]
fn architecture_doc_names_every_module_and_real_functions() {
    let doc = fs::read_to_string(root().join("docs/ARCHITECTURE.md")).unwrap();
    let src = root().join("src");
    let mut missing = Vec::new();
    for (_, path) in modules() {
        let rel = format!("src/{}", path.strip_prefix(&src).unwrap().display());
        if !doc.contains(&rel) {
            missing.push(format!("module file {rel} is not named"));
        }
    }
    // Every function the document names as `path::function` or `Type::method` must exist.
    let mut all_code = String::new();
    for (_, path) in modules() {
        all_code += &fs::read_to_string(&path).unwrap();
    }
    for span in doc.split('`').skip(1).step_by(2) {
        let name = span.trim_end_matches("()");
        if !name.contains("::") || !name.chars().all(|c| is_ident(c) || c == ':') {
            continue;
        }
        let last = name.rsplit("::").next().unwrap();
        if !last.starts_with(|c: char| c.is_ascii_lowercase()) {
            continue;
        }
        let is_module = {
            let segs: Vec<&str> = name.split("::").collect();
            let p = src.join(segs.join("/"));
            p.with_extension("rs").exists() || p.join("mod.rs").exists()
        };
        if !is_module && !all_code.contains(&format!("fn {last}(")) && !all_code.contains(&format!("fn {last}<")) {
            missing.push(format!("`{span}`: no function `{last}` in src/"));
        }
    }
    assert!(missing.is_empty(), "docs/ARCHITECTURE.md:\n{}", missing.join("\n"));
}
