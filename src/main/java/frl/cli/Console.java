package frl.cli;

import java.util.Locale;

/** One self-overwriting status line on stderr (a progress bar when a terminal shows it, plain lines in logs). */
final class Console {
    private static final boolean TTY = System.console() != null;
    private static long lastPrint;

    private Console() {}

    /** Updates the status line; without a terminal only every few seconds and at the end. */
    static synchronized void status(String line, boolean last) {
        long now = System.nanoTime();
        if (!last && now - lastPrint < (TTY ? 200_000_000L : 10_000_000_000L)) return;
        lastPrint = now;
        if (TTY) System.err.print("\r" + line + " ".repeat(Math.max(0, 110 - line.length())) + (last ? "\n" : ""));
        else System.err.println(line);
    }

    static String bar(double fraction, int width) {
        int full = (int) Math.round(Math.max(0, Math.min(1, fraction)) * width);
        return "[" + "#".repeat(full) + ".".repeat(width - full) + "]";
    }

    static String duration(double seconds) {
        if (!Double.isFinite(seconds)) return "?";
        long s = Math.round(seconds);
        return s >= 3600 ? String.format(Locale.ROOT, "%dh%02dm", s / 3600, s / 60 % 60)
                : s >= 60 ? String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60) : s + "s";
    }
}
