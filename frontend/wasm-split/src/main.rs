//! Splits the WASM bundle at its `#[lazy]` split points into a main module and lazily loaded
//! chunks, writes the manifest leptos reads to preload the chunks a page needs, and reports what
//! each page downloads.
//!
//! `livedash-wasm-split split <frontend.wasm> <pkg dir> <output name>`: the main module goes to
//! `<pkg dir>/<output name>.wasm` for wasm-bindgen, the chunks, their loader and the manifest
//! beside it.
//!
//! `livedash-wasm-split sizes <pkg dir> <output name>`: after `wasm-opt`, the bytes (and bytes
//! under `gzip -9`) of the main module and, for each split point, of the chunks it loads.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::{Command, ExitCode};
use std::{env, fs};

/// The loader's name that leptos' `HydrationScripts` preloads (it also names a hashed variant).
const LOADER: &str = "__wasm_split.______________________.js";
const MANIFEST: &str = "__wasm_split_manifest.json";

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let outcome = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["split", input, pkg, name] => split(Path::new(input), Path::new(pkg), name),
        ["sizes", pkg, name] => sizes(Path::new(pkg), name),
        _ => Err(
            "usage: livedash-wasm-split split <frontend.wasm> <pkg dir> <output name>\n       \
                  livedash-wasm-split sizes <pkg dir> <output name>"
                .into(),
        ),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("livedash-wasm-split: {message}");
            ExitCode::FAILURE
        }
    }
}

fn split(input: &Path, pkg: &Path, name: &str) -> Result<(), String> {
    let wasm = fs::read(input).map_err(|e| format!("reading {}: {e}", input.display()))?;
    let main_out = pkg.join(format!("{name}.wasm"));
    let main_module = format!("./{name}.js");
    let link_name = format!("./{LOADER}");
    let mut options = wasm_split_cli_support::Options::new(&wasm);
    options.output_dir = pkg;
    options.main_out_path = &main_out;
    options.main_module = &main_module;
    options.link_name = &link_name;
    let split = wasm_split_cli_support::transform(options)
        .map_err(|e| format!("splitting {}: {e:?}", input.display()))?;
    let manifest: BTreeMap<_, _> = split.prefetch_map.into_iter().collect();
    let json = serde_json::to_string_pretty(&manifest).map_err(|e| e.to_string())?;
    fs::write(pkg.join(MANIFEST), json).map_err(|e| format!("writing the manifest: {e}"))
}

fn sizes(pkg: &Path, name: &str) -> Result<(), String> {
    let manifest = fs::read_to_string(pkg.join(MANIFEST))
        .map_err(|e| format!("reading {}: {e}", pkg.join(MANIFEST).display()))?;
    let chunks_by_split: HashMap<String, Vec<String>> =
        serde_json::from_str(&manifest).map_err(|e| format!("{MANIFEST}: {e}"))?;
    let main = Size::of(&pkg.join(format!("{name}_bg.wasm")))?;
    println!(
        "{:<28} {:>9} bytes {:>9} gzip -9",
        "main bundle (every page)", main.bytes, main.gzip
    );
    // Chunks are shared between split points: each is measured once.
    let mut chunk_sizes = BTreeMap::new();
    for chunk in chunks_by_split.values().flatten() {
        if !chunk_sizes.contains_key(chunk) {
            let size = Size::of(&pkg.join(format!("{chunk}.wasm")))?;
            chunk_sizes.insert(chunk.clone(), size);
        }
    }
    let with_chunks = |chunks: &mut dyn Iterator<Item = &String>| {
        chunks.fold(main, |total, chunk| total.plus(chunk_sizes[chunk]))
    };
    let mut splits: Vec<_> = chunks_by_split.iter().collect();
    splits.sort();
    for (split, chunks) in splits {
        let total = with_chunks(&mut chunks.iter());
        // Split points are named `__<name>_<hash>`; the hash only tells places apart.
        let label = split.trim_start_matches('_');
        let label = label.rsplit_once('_').map_or(label, |(label, _)| label);
        println!(
            "{:<28} {:>9} bytes {:>9} gzip -9 with its {} chunks",
            label,
            total.bytes,
            total.gzip,
            chunks.len()
        );
    }
    let everything = with_chunks(&mut chunk_sizes.keys());
    println!(
        "{:<28} {:>9} bytes {:>9} gzip -9 in {} chunks",
        "everything",
        everything.bytes,
        everything.gzip,
        chunk_sizes.len()
    );
    Ok(())
}

#[derive(Clone, Copy)]
struct Size {
    bytes: u64,
    gzip: u64,
}

impl Size {
    fn of(path: &Path) -> Result<Size, String> {
        let bytes = fs::metadata(path)
            .map_err(|e| format!("{}: {e}", path.display()))?
            .len();
        let output = Command::new("gzip")
            .args(["-9", "-c"])
            .arg(path)
            .output()
            .map_err(|e| format!("running gzip: {e}"))?;
        if !output.status.success() {
            return Err(format!("gzip failed on {}", path.display()));
        }
        Ok(Size {
            bytes,
            gzip: output.stdout.len() as u64,
        })
    }

    fn plus(self, other: Size) -> Size {
        Size {
            bytes: self.bytes + other.bytes,
            gzip: self.gzip + other.gzip,
        }
    }
}
