package frl.io;

import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class JsonTest {
    @Test void parsesTheTypesAndKeepsOrder() {
        Object v = Json.parse(" {\"b\": [1, -2, 3.5e2, true, false, null], \"a\": {\"s\": \"x\\\"y\\\\z\\n\\u00e9\"}, \"big\": -9223372036854775808} ");
        Map<?, ?> m = (Map<?, ?>) v;
        assertEquals(List.of("b", "a", "big"), List.copyOf(m.keySet()));
        assertEquals(java.util.Arrays.asList(1L, -2L, 350.0, true, false, null), m.get("b"));
        assertEquals("x\"y\\z\né", ((Map<?, ?>) m.get("a")).get("s"));
        assertEquals(Long.MIN_VALUE, m.get("big"));
    }

    @Test void writesWhatItReads() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", "tab\there \"quoted\" \u0001");
        m.put("list", List.of(1L, 2.5, -0.001, Long.MAX_VALUE));
        m.put("nested", Map.of("k", true));
        m.put("nothing", null);
        String text = Json.write(m);
        assertEquals(m, Json.parse(text));
        assertEquals("{\"a\":[1,2]}", Json.write(Map.of("a", List.of(1L, 2L))));
        assertThrows(IllegalArgumentException.class, () -> Json.write(Double.NaN));
    }

    /** Map.of iterates in an order that changes between JVM runs; written JSON (checkpoint metadata) must not. */
    @Test void unorderedMapsAreWrittenWithSortedKeysOrderedOnesAsTheyAre() {
        assertEquals("{\"a\":2,\"b\":1,\"c\":3}", Json.write(Map.of("c", 3L, "b", 1L, "a", 2L)));
        Map<String, Object> ordered = new LinkedHashMap<>();
        ordered.put("z", 1L);
        ordered.put("y", 2L);
        assertEquals("{\"z\":1,\"y\":2}", Json.write(ordered));
        assertThrows(IllegalArgumentException.class, () -> Json.write(Map.of(1, 2)));
    }

    @Test void reportsWhereItFails() {
        for (String bad : new String[] {"{", "{\"a\" 1}", "[1,]", "{\"a\":1,\"a\":2}", "01", "1.", "\"abc", "tru", "{} x", "\"\\q\"", "99999999999999999999"}) {
            var e = assertThrows(IllegalArgumentException.class, () -> Json.parse(bad), bad);
            assertTrue(e.getMessage().startsWith("JSON at character "), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> Json.parse("[".repeat(100) + "]".repeat(100)));
    }
}
