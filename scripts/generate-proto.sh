#!/usr/bin/env bash
# Regenerates the committed protobuf code from proto/warden/v1/*.proto:
#   Swift  → Sources/WardenProto/Generated (protoc-gen-swift, built from swift-protobuf)
# Needs `protoc` (Debian's protobuf-compiler; installed here if missing). Building
# protoc-gen-swift takes minutes once; it is kept in .build-protoc/ and reused. The normal build
# never runs this script: the generated code is committed.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v protoc >/dev/null; then
    sudo=$( [ "$(id -u)" = 0 ] || echo sudo )
    $sudo apt-get update -qq && $sudo apt-get install -y -qq protobuf-compiler
fi

# The plugin's version is the one Package.swift depends on.
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
