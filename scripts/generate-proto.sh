#!/usr/bin/env bash
# Regenerates the committed protobuf code from proto/warden/v1/*.proto:
#   Swift  → Sources/WardenProto/Generated (protoc-gen-swift, built from swift-protobuf)
#   C      → clients/c/generated            (protoc-c, Debian's protobuf-c-compiler)
# Usage: scripts/generate-proto.sh [all|swift|c]   (default: all)
# Needs `protoc` (Debian's protobuf-compiler) and, for C, `protoc-c`; both are installed here if
# missing. Building protoc-gen-swift takes minutes once; it is kept in .build-protoc/ and reused.
# The normal build never runs this script: the generated code is committed. Running it twice
# gives the same files.
set -euo pipefail
cd "$(dirname "$0")/.."

which=${1:-all}
case "$which" in all|swift|c) ;; *) echo "usage: $0 [all|swift|c]" >&2; exit 2 ;; esac

install_debs() {
    local missing=()
    for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
    [ ${#missing[@]} -eq 0 ] && return
    sudo=$( [ "$(id -u)" = 0 ] || echo sudo )
    $sudo apt-get update -qq && $sudo apt-get install -y -qq "${missing[@]}"
}

command -v protoc >/dev/null || install_debs protobuf-compiler

generate_swift() {
    # The plugin's version is the one Package.swift depends on.
    local version tools plugin out
    version=$(sed -nE 's|.*swift-protobuf", from: "([0-9.]+)".*|\1|p' Package.swift)
    tools=.build-protoc
    plugin=$tools/swift-protobuf-$version/.build/release/protoc-gen-swift
    if [ ! -x "$plugin" ]; then
        mkdir -p $tools
        rm -rf $tools/swift-protobuf-$version
        git clone -q --depth 1 --branch "$version" https://github.com/apple/swift-protobuf $tools/swift-protobuf-$version
        (cd $tools/swift-protobuf-$version && swift build -c release --product protoc-gen-swift)
    fi

    out=Sources/WardenProto/Generated
    rm -rf "$out" && mkdir -p "$out"
    protoc -I proto --plugin=protoc-gen-swift="$plugin" \
        --swift_opt=Visibility=Public --swift_opt=FileNaming=PathToUnderscores \
        --swift_out="$out" proto/warden/v1/*.proto
    echo "generated: $(ls $out | tr '\n' ' ')"
}

generate_c() {
    command -v protoc-c >/dev/null || install_debs protobuf-c-compiler
    # protoc-c 1.4 does not accept proto3 `optional`. A proto3 optional field is a oneof of one
    # field on the wire (protoc itself lowers it to a "synthetic oneof"), so a copy of the files
    # with `optional T name = N;` written as `oneof _name { T name = N; }` encodes and decodes
    # the same bytes, and keeps presence: the C struct gets a `_name_case` member.
    local out=clients/c/generated src
    src=$(mktemp -d)
    mkdir -p "$src/warden/v1"
    for f in proto/warden/v1/*.proto; do
        sed -E 's/^( *)optional ([A-Za-z0-9_.]+) ([a-z0-9_]+) = ([0-9]+);/\1oneof _\3 { \2 \3 = \4; }/' "$f" \
            > "$src/warden/v1/$(basename "$f")"
    done
    rm -rf "$out" && mkdir -p "$out"
    (cd "$src" && protoc-c -I . --c_out="$OLDPWD/$out" warden/v1/*.proto) || { rm -rf "$src"; return 1; }
    rm -rf "$src"
    echo "generated: $(cd $out && find . -type f | sort | sed 's|^\./||' | tr '\n' ' ')"
}

case "$which" in
    all) generate_swift; generate_c ;;
    swift) generate_swift ;;
    c) generate_c ;;
esac
