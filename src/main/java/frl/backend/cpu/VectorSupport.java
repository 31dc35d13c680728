package frl.backend.cpu;

/**
 * Whether the incubating Vector API was added to this JVM (--add-modules jdk.incubator.vector). Classes that
 * use it are loaded only when it is; otherwise scalar loops run and one hint line is printed.
 */
public final class VectorSupport {
    private static final boolean PRESENT = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();
    private static boolean hinted;

    private VectorSupport() {}

    public static boolean present() {
        if (!PRESENT && !hinted && !Boolean.getBoolean("frl.quiet")) {
            hinted = true;
            System.err.println("frl: Vector API not enabled, using scalar loops (run with --add-modules jdk.incubator.vector, or use ./frl)");
        }
        return PRESENT;
    }

    public static String describe() {
        return PRESENT ? "on (" + jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.length() + " float lanes)"
                : "off (scalar loops; add --add-modules jdk.incubator.vector)";
    }
}
