"""grpcio-tools' grpc_python generator behind the protoc plugin protocol.

Lathe runs this script with the host's python3 (-I -S) from the directory that holds it
and grpcio-tools' grpc_tools package. It reads a CodeGeneratorRequest on stdin, writes
the request's proto_file as a FileDescriptorSet, runs grpc_tools' compiled-in protoc as

    protoc --descriptor_set_in=SET --grpc_python_out=OUT [--grpc_python_opt=PARAMETER] FILES...

and writes a CodeGeneratorResponse with the files under OUT, in name order, or with
protoc's messages as its error. It needs no protobuf runtime: the few fields it reads
and writes are coded here.
"""

import os
import sys
import tempfile

_HERE = os.path.dirname(os.path.abspath(__file__))

# The generator's editions range, as grpcio-tools' protoc accepts it.
_MINIMUM_EDITION = 998  # EDITION_PROTO2
_MAXIMUM_EDITION = 1001  # EDITION_2024
_FEATURES = 1 | 2  # FEATURE_PROTO3_OPTIONAL | FEATURE_SUPPORTS_EDITIONS


def _varint(data, i):
    value = shift = 0
    while True:
        if i >= len(data) or shift > 63:
            raise ValueError("truncated varint")
        b = data[i]
        i += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return value, i


def _fields(data):
    i = 0
    while i < len(data):
        key, i = _varint(data, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(data, i)
        elif wire == 2:
            n, i = _varint(data, i)
            if i + n > len(data):
                raise ValueError("truncated field %d" % number)
            value, i = data[i : i + n], i + n
        elif wire in (1, 5):
            n = 8 if wire == 1 else 4
            if i + n > len(data):
                raise ValueError("truncated field %d" % number)
            value, i = data[i : i + n], i + n
        else:
            raise ValueError("field %d has wire type %d" % (number, wire))
        yield number, wire, value


def _encode_varint(value):
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _field(number, value):
    if isinstance(value, int):
        return _encode_varint(number << 3) + _encode_varint(value)
    return _encode_varint(number << 3 | 2) + _encode_varint(len(value)) + value


def _response(error=None, files=()):
    out = _field(2, _FEATURES) + _field(3, _MINIMUM_EDITION) + _field(4, _MAXIMUM_EDITION)
    if error is not None:
        return _field(1, error.encode()) + out
    for name, content in files:
        out += _field(15, _field(1, name.encode()) + _field(15, content))
    return out


def generate(request):
    """Returns the files for a serialized CodeGeneratorRequest; raises on failure."""
    files, parameter, descriptor_set = [], b"", bytearray()
    for number, wire, value in _fields(request):
        if wire != 2:
            continue
        if number == 1:
            files.append(value)
        elif number == 2:
            parameter = value
        elif number == 15:
            descriptor_set += _field(1, bytes(value))
    if not files:
        raise ValueError("the request names no file to generate")
    for name in files:
        # protoc would read a name starting with '-' or '@' as a flag or a response file.
        if not name or name[:1] in (b"-", b"@") or b"\0" in name or b"\n" in name:
            raise ValueError("file to generate %r is not a proto file name protoc accepts" % name.decode(errors="replace"))
    try:
        from grpc_tools import _protoc_compiler
    except ImportError as e:
        raise RuntimeError(
            "this plugin carries grpcio-tools for another Python than this server's %s (%s): "
            "install the plugin again with the server's python3" % (sys.version.split()[0], e)
        ) from None
    with tempfile.TemporaryDirectory() as tmp:
        set_file = os.path.join(tmp, "input.binpb")
        with open(set_file, "wb") as f:
            f.write(descriptor_set)
        out = os.path.join(tmp, "out")
        os.mkdir(out)
        args = [b"protoc", b"--descriptor_set_in=" + set_file.encode(), b"--grpc_python_out=" + out.encode()]
        if parameter:
            args.append(b"--grpc_python_opt=" + parameter)
        status, messages = _run(_protoc_compiler, args + files, os.path.join(tmp, "messages"))
        if status != 0:
            messages = messages.replace(tmp + os.sep, "").strip() or "exit status %d" % status
            raise RuntimeError("protoc --grpc_python_out: " + messages)
        return _collect(out)


def _run(compiler, args, messages_file):
    """Runs protoc in this process with its stdout and stderr, which would otherwise mix
    into the response, going to a file, and returns its status and what it wrote."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(messages_file, "w+b") as messages:
        os.dup2(messages.fileno(), 1)
        os.dup2(messages.fileno(), 2)
        try:
            status = compiler.run_main(args)
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
        messages.seek(0)
        return status, messages.read().decode(errors="replace")


def _collect(out):
    files = []
    for root, dirs, names in os.walk(out):
        dirs.sort()
        for name in names:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                files.append((os.path.relpath(path, out).replace(os.sep, "/"), f.read()))
    files.sort()
    return files


def main():
    sys.path.insert(0, _HERE)
    if sys.argv[1:] == ["--version"]:
        from grpc_tools import grpc_version

        print(grpc_version.VERSION)
        return
    if sys.argv[1:]:
        sys.exit("unexpected arguments %r: this program is a protoc plugin (the only flag is --version)" % sys.argv[1:])
    request = sys.stdin.buffer.read()
    try:
        response = _response(files=generate(request))
    except (ValueError, RuntimeError) as e:
        response = _response(error=str(e))
    sys.stdout.buffer.write(response)


if __name__ == "__main__":
    main()
