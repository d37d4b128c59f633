//! Makes wasm-pack's output (`www/pkg`) the npm package `checkout-guard` (CONTRACT §12):
//! the entry `index.js` with its types (errors as `Error` subclasses with `code`, a clear
//! error before `init()`, redirect targets as options) in front of wasm-bindgen's module,
//! the React entry `react.js` (`checkout-guard/react`; React an optional peer dependency),
//! `exports` that include the `.wasm` file, a LICENSE and the README, and no placeholder
//! fields. `npm pack` on the directory gives the tarball a storefront installs.

use std::path::Path;

use crate::root;

/// The files the package ships, as `files` lists them.
const FILES: [&str; 10] = [
    "index.js",
    "index.d.ts",
    "react.js",
    "react.d.ts",
    "checkout_guard.js",
    "checkout_guard.d.ts",
    "checkout_guard_bg.wasm",
    "checkout_guard_bg.wasm.d.ts",
    "README.md",
    "LICENSE",
];

const LICENSE: &str =
    "Checkout Guard is licensed under the MIT license or the Apache License 2.0, at
your option (SPDX: MIT OR Apache-2.0). The MIT license:

Copyright (c) 2026 the Checkout Guard authors

Permission is hereby granted, free of charge, to any person obtaining a copy of this
software and associated documentation files (the \"Software\"), to deal in the Software
without restriction, including without limitation the rights to use, copy, modify,
merge, publish, distribute, sublicense, and/or sell copies of the Software, and to
permit persons to whom the Software is furnished to do so, subject to the following
conditions:

The above copyright notice and this permission notice shall be included in all copies
or substantial portions of the Software.

THE SOFTWARE IS PROVIDED \"AS IS\", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED,
INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A
PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT
HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF
CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR
THE USE OR OTHER DEALINGS IN THE SOFTWARE.
";

fn copy(from: &Path, to: &Path) -> Result<(), String> {
    std::fs::copy(from, to)
        .map(drop)
        .map_err(|e| format!("{} → {}: {e}", from.display(), to.display()))
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Turns the wasm-pack output in `out` into the package.
pub fn assemble(out: &Path) -> Result<(), String> {
    let crate_dir = root().join("crates/checkout-wasm");
    copy(&crate_dir.join("js/index.js"), &out.join("index.js"))?;
    copy(&crate_dir.join("js/index.d.ts"), &out.join("index.d.ts"))?;
    copy(&crate_dir.join("js/react.js"), &out.join("react.js"))?;
    copy(&crate_dir.join("js/react.d.ts"), &out.join("react.d.ts"))?;
    copy(&crate_dir.join("README.md"), &out.join("README.md"))?;
    write(&out.join("LICENSE"), LICENSE)?;
    let files = FILES
        .iter()
        .map(|f| format!("    \"{f}\""))
        .collect::<Vec<_>>()
        .join(",\n");
    let manifest = format!(
        r#"{{
  "name": "checkout-guard",
  "version": "{version}",
  "description": "Checkout Guard in the browser: the checkout rules compiled to WebAssembly. Re-validates a checkout on every navigation, keeps the pending order action with its idempotency key across refreshes and tabs, and never sends an order twice.",
  "license": "MIT OR Apache-2.0",
  "type": "module",
  "main": "./index.js",
  "types": "./index.d.ts",
  "exports": {{
    ".": {{
      "types": "./index.d.ts",
      "default": "./index.js"
    }},
    "./react": {{
      "types": "./react.d.ts",
      "default": "./react.js"
    }},
    "./checkout_guard_bg.wasm": "./checkout_guard_bg.wasm",
    "./package.json": "./package.json"
  }},
  "files": [
{files}
  ],
  "peerDependencies": {{
    "@types/react": "^18 || ^19",
    "react": "^18 || ^19"
  }},
  "peerDependenciesMeta": {{
    "@types/react": {{
      "optional": true
    }},
    "react": {{
      "optional": true
    }}
  }},
  "sideEffects": false,
  "keywords": ["checkout", "ecommerce", "wasm", "idempotency"]
}}
"#,
        version = env!("CARGO_PKG_VERSION"),
    );
    write(&out.join("package.json"), &manifest)
}
