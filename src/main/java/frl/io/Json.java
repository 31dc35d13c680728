package frl.io;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;
import java.util.TreeMap;

/**
 * The small JSON subset that safetensors headers and checkpoint metadata need: objects (kept in order,
 * duplicate keys rejected), arrays, strings, integers (as Long), other numbers (as Double), booleans, null.
 */
public final class Json {
    private static final int MAX_DEPTH = 64;

    private final String s;
    private int pos;

    private Json(String s) { this.s = s; }

    /** Parses one JSON value; surrounding whitespace is allowed, anything else after it is an error. */
    public static Object parse(String text) {
        Json p = new Json(text);
        Object v = p.value(0);
        p.skipSpace();
        if (p.pos != text.length()) throw p.error("unexpected text after the value");
        return v;
    }

    private Object value(int depth) {
        if (depth > MAX_DEPTH) throw error("nesting deeper than " + MAX_DEPTH);
        skipSpace();
        if (pos >= s.length()) throw error("unexpected end of input");
        char c = s.charAt(pos);
        return switch (c) {
            case '{' -> object(depth);
            case '[' -> array(depth);
            case '"' -> string();
            case 't' -> literal("true", Boolean.TRUE);
            case 'f' -> literal("false", Boolean.FALSE);
            case 'n' -> literal("null", null);
            default -> {
                if (c == '-' || (c >= '0' && c <= '9')) yield number();
                throw error("unexpected character '" + c + "'");
            }
        };
    }

    private Map<String, Object> object(int depth) {
        Map<String, Object> out = new LinkedHashMap<>();
        pos++;
        skipSpace();
        if (peek() == '}') { pos++; return out; }
        while (true) {
            skipSpace();
            if (peek() != '"') throw error("expected a string key");
            int at = pos;
            String key = string();
            skipSpace();
            expect(':');
            if (out.containsKey(key)) { pos = at; throw error("duplicate key \"" + key + "\""); }
            out.put(key, value(depth + 1));
            skipSpace();
            if (peek() == ',') { pos++; continue; }
            expect('}');
            return out;
        }
    }

    private List<Object> array(int depth) {
        List<Object> out = new ArrayList<>();
        pos++;
        skipSpace();
        if (peek() == ']') { pos++; return out; }
        while (true) {
            out.add(value(depth + 1));
            skipSpace();
            if (peek() == ',') { pos++; continue; }
            expect(']');
            return out;
        }
    }

    private String string() {
        StringBuilder b = new StringBuilder();
        pos++;
        while (true) {
            if (pos >= s.length()) throw error("unterminated string");
            char c = s.charAt(pos++);
            if (c == '"') return b.toString();
            if (c < 0x20) { pos--; throw error("control character in a string"); }
            if (c != '\\') { b.append(c); continue; }
            if (pos >= s.length()) throw error("unterminated escape");
            char e = s.charAt(pos++);
            switch (e) {
                case '"', '\\', '/' -> b.append(e);
                case 'b' -> b.append('\b');
                case 'f' -> b.append('\f');
                case 'n' -> b.append('\n');
                case 'r' -> b.append('\r');
                case 't' -> b.append('\t');
                case 'u' -> {
                    if (pos + 4 > s.length()) throw error("short \\u escape");
                    try {
                        b.append((char) Integer.parseInt(s.substring(pos, pos + 4), 16));
                    } catch (NumberFormatException x) {
                        throw error("bad \\u escape");
                    }
                    pos += 4;
                }
                default -> { pos--; throw error("unknown escape '\\" + e + "'"); }
            }
        }
    }

    private Object number() {
        int start = pos;
        if (peek() == '-') pos++;
        boolean integral = true;
        while (pos < s.length()) {
            char c = s.charAt(pos);
            if (c >= '0' && c <= '9') pos++;
            else if (c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-') { integral = false; pos++; }
            else break;
        }
        String t = s.substring(start, pos);
        if (!t.matches("-?(0|[1-9][0-9]*)(\\.[0-9]+)?([eE][+-]?[0-9]+)?")) { pos = start; throw error("bad number '" + t + "'"); }
        try {
            return integral ? (Object) Long.parseLong(t) : (Object) Double.parseDouble(t);
        } catch (NumberFormatException x) {
            pos = start;
            throw error("integer out of range '" + t + "'");
        }
    }

    private Object literal(String word, Object v) {
        if (!s.startsWith(word, pos)) throw error("unexpected character '" + s.charAt(pos) + "'");
        pos += word.length();
        return v;
    }

    private void skipSpace() {
        while (pos < s.length() && " \t\r\n".indexOf(s.charAt(pos)) >= 0) pos++;
    }

    private char peek() { return pos < s.length() ? s.charAt(pos) : '\0'; }

    private void expect(char c) {
        if (peek() != c) throw error(pos >= s.length() ? "unexpected end of input, expected '" + c + "'" : "expected '" + c + "'");
        pos++;
    }

    private IllegalArgumentException error(String what) {
        return new IllegalArgumentException("JSON at character " + pos + ": " + what);
    }

    // ---- writing --------------------------------------------------------------------------------

    /** Writes maps, lists, strings, integral and finite floating numbers, booleans and null. */
    public static String write(Object v) {
        StringBuilder b = new StringBuilder();
        write(v, b);
        return b.toString();
    }

    /**
     * A map's own order where it has one (LinkedHashMap, TreeMap), else its keys sorted: Map.of and HashMap
     * iterate in an order that changes from run to run, and a file written twice should come out the same.
     */
    private static Map<?, ?> inStableOrder(Map<?, ?> m) {
        for (Object k : m.keySet())
            if (!(k instanceof String)) throw new IllegalArgumentException("JSON object keys must be strings, got " + k);
        if (m instanceof SequencedMap<?, ?>) return m;
        Map<String, Object> sorted = new TreeMap<>();
        m.forEach((k, v) -> sorted.put((String) k, v));
        return sorted;
    }

    private static void write(Object v, StringBuilder b) {
        switch (v) {
            case null -> b.append("null");
            case String str -> quote(str, b);
            case Boolean bool -> b.append(bool);
            case Long _, Integer _, Short _, Byte _ -> b.append(v);
            case Number n -> {
                double d = n.doubleValue();
                if (!Double.isFinite(d)) throw new IllegalArgumentException("JSON cannot hold the number " + d);
                b.append(d);
            }
            case Map<?, ?> m -> {
                b.append('{');
                boolean first = true;
                for (var e : inStableOrder(m).entrySet()) {
                    if (!first) b.append(',');
                    first = false;
                    quote((String) e.getKey(), b);
                    b.append(':');
                    write(e.getValue(), b);
                }
                b.append('}');
            }
            case List<?> list -> {
                b.append('[');
                for (int i = 0; i < list.size(); i++) {
                    if (i > 0) b.append(',');
                    write(list.get(i), b);
                }
                b.append(']');
            }
            default -> throw new IllegalArgumentException("JSON cannot hold a " + v.getClass().getSimpleName());
        }
    }

    private static void quote(String str, StringBuilder b) {
        b.append('"');
        for (int i = 0; i < str.length(); i++) {
            char c = str.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
                    else b.append(c);
                }
            }
        }
        b.append('"');
    }
}
