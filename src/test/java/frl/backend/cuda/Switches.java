package frl.backend.cuda;

import java.util.function.Supplier;

/** For tests: a body run under a -D switch set to a value, the switch restored after (unset if it was). */
final class Switches {
    private Switches() {}

    static <T> T with(String name, String value, Supplier<T> body) {
        String before = System.getProperty(name);
        if (value == null) System.clearProperty(name);
        else System.setProperty(name, value);
        try {
            return body.get();
        } finally {
            if (before == null) System.clearProperty(name);
            else System.setProperty(name, before);
        }
    }

    static void with(String name, String value, Runnable body) {
        with(name, value, () -> {
            body.run();
            return null;
        });
    }
}
