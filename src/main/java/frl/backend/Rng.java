package frl.backend;

/**
 * A counter-based random stream: value i of a draw is a pure function of (seed, counter + i), so every
 * backend (CPU threads, CUDA blocks) produces the same numbers in any order. The state is two longs,
 * saved in checkpoints.
 */
public final class Rng {
    private final long seed;
    private long counter;

    public Rng(long seed) { this(seed, 0); }

    public Rng(long seed, long counter) {
        this.seed = seed;
        this.counter = counter;
    }

    public long seed() { return seed; }

    public long counter() { return counter; }

    /** Reserves n counter values and returns the first. */
    public synchronized long advance(long n) {
        long start = counter;
        counter += n;
        return start;
    }

    /** SplitMix64 finaliser of (seed, counter): 64 well-mixed bits. */
    public static long bits(long seed, long counter) {
        long z = seed * 0x9E3779B97F4A7C15L + counter * 0xD1B54A32D192ED03L + 0x632BE59BD9B4E019L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /**
     * Reserves the counters of n normal draws and returns the index of the first: draw i of the block is
     * {@link #normal}(seed, base + i), which reads counters 2(base+i) and 2(base+i)+1.
     */
    public synchronized long reserveNormals(long n) {
        long base = (counter + 1) / 2;
        counter = 2 * (base + n);
        return base;
    }

    /** A stream whose next normal draw is {@link #normal}(seed, index): for draws placed by index, not by order. */
    public static Rng atNormal(long seed, long index) { return new Rng(seed, 2 * index); }

    /** Uniform in [0, 1) with 53 random bits. */
    public static double uniform(long seed, long counter) {
        return (bits(seed, counter) >>> 11) * 0x1.0p-53;
    }

    /** Standard normal from counters 2i and 2i+1 (Box–Muller, cosine branch). */
    public static double normal(long seed, long i) {
        double u1 = 1.0 - uniform(seed, 2 * i);
        double u2 = uniform(seed, 2 * i + 1);
        return Math.sqrt(-2.0 * Math.log(u1)) * Math.cos(2.0 * Math.PI * u2);
    }

    /** A uniform integer in [0, n) drawn from this stream (for shuffling and flips on the host). */
    public int nextInt(int n) {
        return (int) Math.floorMod(bits(seed, advance(1)) >>> 1, (long) n);
    }

    public double nextDouble() { return uniform(seed, advance(1)); }
}
