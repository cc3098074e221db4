// Round-trips a message of every message type that the modules of all.mjs export, with
// every field set (nested messages to a depth of three, deeper only if required), through
// the binary and the JSON format, and counts what the modules export.
import { create, equals, fromBinary, fromJson, toBinary, toJson, ScalarType } from "@bufbuild/protobuf";
import { FeatureSet_FieldPresence } from "@bufbuild/protobuf/wkt";
import { modules } from "./all.mjs";

const maxDepth = 3;

function scalar(type, longAsString) {
  switch (type) {
    case ScalarType.STRING: return "s";
    case ScalarType.BYTES: return new Uint8Array([1, 2]);
    case ScalarType.BOOL: return true;
    case ScalarType.DOUBLE: case ScalarType.FLOAT: return 0.5;
    case ScalarType.INT64: case ScalarType.UINT64: case ScalarType.FIXED64:
    case ScalarType.SFIXED64: case ScalarType.SINT64: return longAsString ? "7" : 7n;
    default: return 7;
  }
}

function mapKey(type) {
  return type === ScalarType.STRING ? "k" : type === ScalarType.BOOL ? "true" : "7";
}

const enumValue = (e) => e.values[e.values.length - 1].number;

// Well-known types have JSON forms of their own, which some cannot take empty
// (google.protobuf.Value); they are left unset.
const wellKnown = (desc) => desc.typeName.startsWith("google.protobuf.");

function nested(desc, depth, required) {
  return wellKnown(desc) || (depth >= maxDepth && !required) ? undefined : fill(desc, depth + 1);
}

function value(field, depth) {
  switch (field.fieldKind) {
    case "scalar": return scalar(field.scalar, field.longAsString);
    case "enum": return enumValue(field.enum);
    case "message": return nested(field.message, depth, field.presence === FeatureSet_FieldPresence.LEGACY_REQUIRED);
    case "list": {
      const v = field.listKind === "scalar" ? scalar(field.scalar, field.longAsString)
        : field.listKind === "enum" ? enumValue(field.enum) : nested(field.message, depth, false);
      return v === undefined ? [] : [v];
    }
    case "map": {
      const v = field.mapKind === "scalar" ? scalar(field.scalar, false)
        : field.mapKind === "enum" ? enumValue(field.enum) : nested(field.message, depth, false);
      return v === undefined ? {} : { [mapKey(field.mapKey)]: v };
    }
  }
}

function fill(desc, depth) {
  const init = {};
  for (const field of desc.fields) {
    if (field.oneof && field.oneof.fields[0] !== field) continue;
    const v = value(field, depth);
    if (v === undefined) continue;
    if (field.oneof) init[field.oneof.localName] = { case: field.localName, value: v };
    else init[field.localName] = v;
  }
  return create(desc, init);
}

const counts = { file: 0, message: 0, enum: 0, service: 0, extension: 0 };
for (const m of modules) {
  for (const v of Object.values(m)) {
    if (!(v?.kind in counts)) continue;
    counts[v.kind]++;
    if (v.kind !== "message" || wellKnown(v)) continue;
    const msg = fill(v, 0);
    const back = fromBinary(v, toBinary(v, msg));
    if (!equals(v, msg, back)) throw new Error(`${v.typeName}: the binary round trip differs`);
    const again = fromJson(v, toJson(v, back));
    if (!equals(v, msg, again)) throw new Error(`${v.typeName}: the JSON round trip differs`);
  }
}
console.log(`round trip: ${counts.file} files, ${counts.message} messages, ${counts.enum} enums, ${counts.service} services, ${counts.extension} extensions`);
