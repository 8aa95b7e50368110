//! Compile-fail cases: each file in `tests/ui/` must fail to build with exactly the diagnostics in
//! its `.stderr` (toolchain pinned by `rust-toolchain.toml`; regenerate with `TRYBUILD=overwrite`).
#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("ui/*.rs");
}
