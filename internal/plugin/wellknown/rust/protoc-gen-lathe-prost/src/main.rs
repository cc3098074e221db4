//! protoc-gen-lathe-prost: a protoc plugin wrapping prost-build's code generator.
//!
//! Reads a CodeGeneratorRequest on stdin, writes a CodeGeneratorResponse on stdout.
//! Generates one `{module}.rs` file per protobuf package, for the files in
//! `file_to_generate` only. The name is prost's module path joined with '.': each
//! package element in snake case, Rust keywords as raw identifiers
//! (`google.logging.type` is `google.logging.r#type.rs`, module `google::logging::r#type`);
//! files without a package go to `_.rs`.
//!
//! prost-build does not support editions. The response says so the way the protocol
//! does, by not declaring FEATURE_SUPPORTS_EDITIONS, and carries no files when a file to
//! generate uses editions: the host (protoc, buf, Lathe) then refuses the request and
//! names the file.
//!
//! Options (comma separated, passed via `--lathe-prost_opt=...` or
//! `--lathe-prost_out=OPTS:DIR`):
//!   extern_path=.proto.path=::rust::path   (repeatable) map a proto path to an existing Rust path
//!   bytes=.proto.path                      (repeatable) use bytes::Bytes for these bytes fields ("." = all)
//!   btree_map=.proto.path                  (repeatable) use BTreeMap for these map fields ("." = all)
//!   disable_comments=.proto.path           (repeatable) omit doc comments
//!   type_attribute=.proto.path=#[attr]     (repeatable; the attribute must not contain ',')
//!   field_attribute=.proto.path=#[attr]    (repeatable; same restriction)
//!   compile_well_known_types               generate google.protobuf types instead of using ::prost_types
//!   retain_enum_prefix                     keep enum-name prefixes on variants
//!   prost_path=::some::prost               path to the prost crate in generated code
//!   default_package_filename=NAME          file stem for package-less protos (default "_")
use std::collections::HashSet;
use std::io::{self, Read, Write};
use std::panic;

use prost::Message;
use prost_build::{Config, Module};
use prost_types::compiler::{code_generator_response, CodeGeneratorRequest, CodeGeneratorResponse};

fn split_kv(opt: &str, value: &str) -> Result<(String, String), String> {
    // value is "LEFT=RIGHT"; split at the first '='.
    value
        .split_once('=')
        .map(|(a, b)| (a.trim().to_string(), b.trim().to_string()))
        .filter(|(a, b)| !a.is_empty() && !b.is_empty())
        .ok_or_else(|| format!("option `{opt}` expects PROTO_PATH=VALUE, got `{value}`"))
}

fn configure(param: &str) -> Result<(Config, String), String> {
    let mut cfg = Config::new();
    let mut default_name = "_".to_string();
    for raw in param.split(',') {
        let raw = raw.trim();
        if raw.is_empty() {
            continue;
        }
        let (key, value) = match raw.split_once('=') {
            Some((k, v)) => (k.trim(), Some(v.trim())),
            None => (raw, None),
        };
        match (key, value) {
            ("extern_path", Some(v)) => {
                let (p, r) = split_kv(key, v)?;
                cfg.extern_path(p, r);
            }
            ("type_attribute", Some(v)) => {
                let (p, a) = split_kv(key, v)?;
                cfg.type_attribute(p, a);
            }
            ("field_attribute", Some(v)) => {
                let (p, a) = split_kv(key, v)?;
                cfg.field_attribute(p, a);
            }
            ("bytes", Some(v)) => {
                cfg.bytes([v]);
            }
            ("btree_map", Some(v)) => {
                cfg.btree_map([v]);
            }
            ("disable_comments", Some(v)) => {
                cfg.disable_comments([v]);
            }
            ("prost_path", Some(v)) => {
                cfg.prost_path(v);
            }
            ("default_package_filename", Some(v)) => {
                cfg.default_package_filename(v);
                default_name = v.to_string();
            }
            ("compile_well_known_types", None) => {
                cfg.compile_well_known_types();
            }
            ("retain_enum_prefix", None) => {
                cfg.retain_enum_prefix();
            }
            _ => return Err(format!("unknown or malformed option `{raw}`")),
        }
    }
    Ok((cfg, default_name))
}

fn run(req: CodeGeneratorRequest) -> Result<Vec<code_generator_response::File>, String> {
    let (mut cfg, default_name) = configure(req.parameter())?;
    let generate: HashSet<&str> = req.file_to_generate.iter().map(String::as_str).collect();
    if let Some(missing) = generate
        .iter()
        .find(|name| !req.proto_file.iter().any(|f| f.name() == **name))
    {
        return Err(format!(
            "file_to_generate `{missing}` missing from proto_file"
        ));
    }
    // prost-build panics on editions files ("unknown syntax: editions"); without
    // FEATURE_SUPPORTS_EDITIONS in the response, the host refuses the request.
    if req
        .proto_file
        .iter()
        .any(|f| f.syntax() == "editions" && generate.contains(f.name()))
    {
        return Ok(Vec::new());
    }

    // prost-build looks up every message a field refers to (to derive Copy and Eq), so
    // the imports go in too, into a module no package can have whose output is dropped.
    // Their syntax matters only for their own code, so editions imports pass as proto2.
    let imports = Module::from_parts(["#imports"]);
    let requests = req
        .proto_file
        .iter()
        .map(|fd| {
            if generate.contains(fd.name()) {
                (Module::from_protobuf_package_name(fd.package()), fd.clone())
            } else {
                let mut fd = fd.clone();
                if fd.syntax() == "editions" {
                    fd.syntax = Some("proto2".to_string());
                }
                (imports.clone(), fd)
            }
        })
        .collect();

    let modules = cfg.generate(requests).map_err(|e| e.to_string())?;
    let mut files: Vec<_> = modules
        .into_iter()
        .filter(|(module, _)| *module != imports)
        .map(|(module, content)| code_generator_response::File {
            // to_file_name_or already appends ".rs" (e.g. "a.v1.rs", "_.rs").
            name: Some(module.to_file_name_or(&default_name)),
            content: Some(content),
            ..Default::default()
        })
        .collect();
    files.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(files)
}

fn main() -> io::Result<()> {
    let mut input = Vec::new();
    io::stdin().read_to_end(&mut input)?;

    let mut resp = CodeGeneratorResponse {
        supported_features: Some(code_generator_response::Feature::Proto3Optional as u64),
        ..Default::default()
    };
    match CodeGeneratorRequest::decode(input.as_slice()) {
        Err(e) => resp.error = Some(format!("failed to decode CodeGeneratorRequest: {e}")),
        // A panic in prost-build becomes the response's error rather than a crash
        // without one.
        Ok(req) => match panic::catch_unwind(|| run(req)) {
            Ok(Ok(files)) => resp.file = files,
            Ok(Err(e)) => resp.error = Some(e),
            Err(p) => {
                let msg = p
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| p.downcast_ref::<&str>().copied())
                    .unwrap_or("unknown panic");
                resp.error = Some(format!("prost-build failed: {msg}"));
            }
        },
    }
    io::stdout().write_all(&resp.encode_to_vec())?;
    Ok(())
}
