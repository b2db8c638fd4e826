// Compiles the C core's region, ring and liveness code (native/src) with the host's shim:
// joining a slot (docs/ring.md §5) is the C core's, not re-implemented here.
fn main() {
    let native = "../../native";
    let mut b = cc::Build::new();
    b.include(format!("{native}/include")).include(format!("{native}/src")).flag_if_supported("-std=c11");
    for f in ["region.c", "ring.c", "proc.c", "notify.c"] {
        b.file(format!("{native}/src/{f}"));
        println!("cargo:rerun-if-changed={native}/src/{f}");
    }
    b.file("src/shim.c");
    println!("cargo:rerun-if-changed=src/shim.c");
    println!("cargo:rerun-if-changed={native}/include");
    b.compile("isthmus_core");
}
