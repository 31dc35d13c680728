package frl.tensor;

/** Where a tensor's storage lives and which backend computes on it: "cpu", "cuda", or a test oracle. */
public record Device(String name) {
    public static final Device CPU = new Device("cpu");
    public static final Device CUDA = new Device("cuda");

    /** True when the storage is ordinary host memory that a MemorySegment can read directly. */
    public boolean isHost() { return !this.equals(CUDA); }

    @Override public String toString() { return name; }
}
