package frl.tensor;

/** Element types a tensor can hold. Fast backends compute in F32; the reference oracle in F64. */
public enum DType {
    F32(4), F64(8);

    private final int bytes;

    DType(int bytes) { this.bytes = bytes; }

    public int bytes() { return bytes; }
}
