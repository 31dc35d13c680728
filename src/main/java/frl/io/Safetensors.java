package frl.io;

import frl.tensor.DType;
import frl.tensor.Device;
import frl.tensor.Shape;
import frl.tensor.Tensor;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The safetensors format: an 8-byte little-endian header length N, N bytes of JSON
 * {@code {"__metadata__": {str: str}, name: {"dtype", "shape", "data_offsets": [begin, end]}}} (space-padded),
 * then the raw little-endian data, offsets relative to its start. Reading is strict like the reference
 * implementation: the tensors must tile the data exactly (no overlap, no hole, nothing left over).
 * F32 and F64 are read as they are; F16, BF16 and the integer types are converted to F32.
 */
public final class Safetensors {
    private static final long MAX_HEADER = 100_000_000;
    private static final long CHUNK = 1 << 22;
    private static final String METADATA = "__metadata__";
    private static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64_LE = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt I32_LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong I64_LE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private Safetensors() {}

    /** The element types this reader understands, with their sizes in bytes. */
    enum FileType {
        F64(8), F32(4), F16(2), BF16(2), I64(8), I32(4), I16(2), I8(1), U8(1), BOOL(1);

        final int bytes;

        FileType(int bytes) { this.bytes = bytes; }

        static FileType parse(String name) {
            for (FileType t : values()) if (t.name().equals(name)) return t;
            return null;
        }
    }

    /** One tensor's header entry; offsets are relative to the data section. */
    public record Entry(String dtype, Shape shape, long begin, long end) {}

    /** The parsed header: entries in file order, the metadata, and where the data section starts. */
    public record Header(Map<String, Entry> entries, Map<String, String> metadata, long dataStart) {}

    /** Tensors read from a file (host F32, or F64 for F64 data) and its metadata; close frees the tensors. */
    public record Contents(Map<String, Tensor> tensors, Map<String, String> metadata) implements AutoCloseable {
        @Override public void close() { tensors.values().forEach(Tensor::close); }
    }

    // ---- reading --------------------------------------------------------------------------------

    /** The file, open for reading; a folder, a missing file or one we may not read, said so with its path. */
    private static FileChannel openToRead(Path file) throws IOException {
        if (Files.isDirectory(file)) throw new IOException("'" + file + "' is a folder, expected a .safetensors file");
        try {
            return FileChannel.open(file, StandardOpenOption.READ);
        } catch (java.nio.file.FileSystemException e) {
            throw new IOException("cannot read " + Problems.reason(e), e);
        }
    }

    /** Reads and checks the header only (cheap: the data is not touched). */
    public static Header readHeader(Path file) throws IOException {
        try (FileChannel ch = openToRead(file)) {
            return readHeader(file, ch);
        }
    }

    public static Contents read(Path file) throws IOException {
        try (FileChannel ch = openToRead(file); Arena arena = Arena.ofConfined()) {
            Header h = readHeader(file, ch);
            long dataBytes = ch.size() - h.dataStart();
            MemorySegment data = dataBytes == 0 ? MemorySegment.NULL : ch.map(FileChannel.MapMode.READ_ONLY, h.dataStart(), dataBytes, arena);
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            try {
                for (var e : h.entries().entrySet()) tensors.put(e.getKey(), decode(e.getValue(), data));
            } catch (RuntimeException | Error x) {
                tensors.values().forEach(Tensor::close);
                throw x;
            }
            return new Contents(tensors, h.metadata());
        }
    }

    private static Tensor decode(Entry e, MemorySegment data) {
        FileType type = FileType.valueOf(e.dtype());
        long n = e.shape().numel();
        Tensor t = Tensor.host(e.shape(), type == FileType.F64 ? DType.F64 : DType.F32, Device.CPU);
        MemorySegment dst = t.segment();
        long at = e.begin();
        switch (type) {
            case F64 -> MemorySegment.copy(data, F64_LE, at, dst, ValueLayout.JAVA_DOUBLE, 0, n);
            case F32 -> MemorySegment.copy(data, F32_LE, at, dst, ValueLayout.JAVA_FLOAT, 0, n);
            default -> {
                for (long i = 0; i < n; i++) dst.setAtIndex(ValueLayout.JAVA_FLOAT, i, element(type, data, at + i * type.bytes));
            }
        }
        return t;
    }

    /** One non-float32 element widened or narrowed to float (I64 loses precision above 2^24, as any float). */
    private static float element(FileType type, MemorySegment data, long at) {
        return switch (type) {
            case F16 -> Float.float16ToFloat(data.get(I16_LE, at));
            case BF16 -> Float.intBitsToFloat((data.get(I16_LE, at) & 0xFFFF) << 16);
            case I64 -> (float) data.get(I64_LE, at);
            case I32 -> (float) data.get(I32_LE, at);
            case I16 -> data.get(I16_LE, at);
            case I8 -> data.get(ValueLayout.JAVA_BYTE, at);
            case U8, BOOL -> data.get(ValueLayout.JAVA_BYTE, at) & 0xFF;
            case F32, F64 -> throw new IllegalStateException("handled by bulk copy");
        };
    }

    private static Header readHeader(Path file, FileChannel ch) throws IOException {
        long size = ch.size();
        if (size < 8) throw bad(file, "truncated: " + size + " bytes, the header length alone needs 8");
        ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        readFully(ch, lenBuf, 0);
        long n = lenBuf.getLong(0);
        if (n < 0 || n > size - 8)
            throw bad(file, "header length " + Long.toUnsignedString(n) + " exceeds the " + (size - 8) + " bytes after the length field (truncated or not safetensors)"
                    + Problems.looksLike(Integer.reverseBytes((int) n)));
        if (n > MAX_HEADER) throw bad(file, "header length " + n + " is above the " + MAX_HEADER + "-byte limit");
        ByteBuffer hb = ByteBuffer.allocate((int) n);
        readFully(ch, hb, 8);
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().decode(hb.flip()).toString();
        } catch (CharacterCodingException x) {
            throw bad(file, "header is not valid UTF-8");
        }
        Object root;
        try {
            root = Json.parse(text);
        } catch (IllegalArgumentException x) {
            throw bad(file, "bad JSON header: " + x.getMessage());
        }
        if (!(root instanceof Map<?, ?> top)) throw bad(file, "header must be a JSON object");
        Map<String, String> metadata = new LinkedHashMap<>();
        Map<String, Entry> entries = new LinkedHashMap<>();
        for (var kv : top.entrySet()) {
            String name = (String) kv.getKey();
            if (name.equals(METADATA)) metadata = metadata(file, kv.getValue());
            else entries.put(name, entry(file, name, kv.getValue()));
        }
        checkTiling(file, entries, size - 8 - n);
        return new Header(entries, metadata, 8 + n);
    }

    private static Map<String, String> metadata(Path file, Object v) throws IOException {
        if (!(v instanceof Map<?, ?> m)) throw bad(file, METADATA + " must be an object of strings");
        Map<String, String> out = new LinkedHashMap<>();
        for (var kv : m.entrySet()) {
            if (!(kv.getValue() instanceof String s)) throw bad(file, METADATA + " entry '" + kv.getKey() + "' must be a string, found " + Json.write(kv.getValue()));
            out.put((String) kv.getKey(), s);
        }
        return out;
    }

    private static Entry entry(Path file, String name, Object v) throws IOException {
        if (!(v instanceof Map<?, ?> m)) throw bad(file, "tensor '" + name + "': entry must be an object");
        if (!(m.get("dtype") instanceof String dtype)) throw bad(file, "tensor '" + name + "': missing string 'dtype'");
        FileType type = FileType.parse(dtype);
        if (type == null) throw bad(file, "tensor '" + name + "': unsupported dtype '" + dtype + "' (this reader knows " + java.util.Arrays.toString(FileType.values()) + ")");
        long[] shape = longs(file, name, "shape", m.get("shape"), -1);
        long[] off = longs(file, name, "data_offsets", m.get("data_offsets"), 2);
        int[] dims = new int[shape.length];
        long numel = 1;
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] > Integer.MAX_VALUE) throw bad(file, "tensor '" + name + "': dimension " + shape[i] + " too large");
            dims[i] = (int) shape[i];
        }
        if (off[0] > off[1]) throw bad(file, "tensor '" + name + "': data_offsets [" + off[0] + ", " + off[1] + "] end before they begin");
        long need;
        try {
            for (long d : shape) numel = Math.multiplyExact(numel, d);
            need = Math.multiplyExact(numel, type.bytes);
        } catch (ArithmeticException x) {
            throw bad(file, "tensor '" + name + "': shape " + java.util.Arrays.toString(shape) + " is too large");
        }
        if (off[1] - off[0] != need)
            throw bad(file, "tensor '" + name + "': data_offsets [" + off[0] + ", " + off[1] + "] hold " + (off[1] - off[0])
                    + " bytes, expected " + need + " for shape " + java.util.Arrays.toString(shape) + " of " + dtype);
        return new Entry(dtype, Shape.of(dims), off[0], off[1]);
    }

    private static long[] longs(Path file, String name, String field, Object v, int length) throws IOException {
        if (!(v instanceof List<?> list) || (length >= 0 && list.size() != length))
            throw bad(file, "tensor '" + name + "': '" + field + "' must be a list of " + (length >= 0 ? length + " " : "") + "non-negative integers, found " + Json.write(v));
        long[] out = new long[list.size()];
        for (int i = 0; i < out.length; i++) {
            if (!(list.get(i) instanceof Long x) || x < 0)
                throw bad(file, "tensor '" + name + "': '" + field + "' must hold non-negative integers, found " + Json.write(v));
            out[i] = x;
        }
        return out;
    }

    /** The tensors, sorted by offset, must cover [0, dataBytes) exactly. */
    private static void checkTiling(Path file, Map<String, Entry> entries, long dataBytes) throws IOException {
        List<Map.Entry<String, Entry>> sorted = new ArrayList<>(entries.entrySet());
        sorted.sort(Comparator.comparingLong((Map.Entry<String, Entry> e) -> e.getValue().begin()).thenComparingLong(e -> e.getValue().end()));
        long expect = 0;
        String previous = null;
        for (var e : sorted) {
            Entry t = e.getValue();
            if (t.end() > dataBytes)
                throw bad(file, "tensor '" + e.getKey() + "': data_offsets [" + t.begin() + ", " + t.end() + "] run past the " + dataBytes + "-byte data section (truncated?)");
            if (t.begin() < expect)
                throw bad(file, "tensor '" + e.getKey() + "': data_offsets [" + t.begin() + ", " + t.end() + "] overlap tensor '" + previous + "' which ends at " + expect);
            if (t.begin() > expect)
                throw bad(file, "tensor '" + e.getKey() + "': data begins at " + t.begin() + ", expected " + expect + " (a hole after " + (previous == null ? "the header" : "tensor '" + previous + "'") + ")");
            expect = t.end();
            previous = e.getKey();
        }
        if (expect != dataBytes) throw bad(file, "the tensors cover " + expect + " bytes of data, the file holds " + dataBytes + " (trailing bytes)");
    }

    private static void readFully(FileChannel ch, ByteBuffer b, long at) throws IOException {
        while (b.hasRemaining()) {
            int r = ch.read(b, at + b.position());
            if (r < 0) throw new IOException("unexpected end of file");
        }
    }

    private static IOException bad(Path file, String what) { return new IOException("safetensors file " + file + ": " + what); }

    // ---- writing --------------------------------------------------------------------------------

    /** Writes F32/F64 tensors (any device) and string metadata atomically, in the map's order. */
    public static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata) throws IOException {
        Map<String, Object> header = new LinkedHashMap<>();
        if (!metadata.isEmpty()) header.put(METADATA, new LinkedHashMap<>(metadata));
        long offset = 0;
        for (var e : tensors.entrySet()) {
            String name = e.getKey();
            if (name.isEmpty() || name.equals(METADATA)) throw new IllegalArgumentException("safetensors write " + file + ": invalid tensor name '" + name + "'");
            Tensor t = e.getValue();
            long bytes = t.numel() * t.dtype().bytes();
            List<Object> shape = new ArrayList<>();
            for (int d : t.shape().dims()) shape.add((long) d);
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("dtype", t.dtype().name());
            entry.put("shape", shape);
            entry.put("data_offsets", List.of(offset, offset + bytes));
            header.put(name, entry);
            offset += bytes;
        }
        byte[] json = Json.write(header).getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) / 8 * 8;   // keeps the data 8-byte aligned, as the reference writer does
        ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(padded).put(json);
        while (head.hasRemaining()) head.put((byte) ' ');
        AtomicFile.write(file, ch -> {
            writeFully(ch, head.flip());
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment staging = arena.allocate(CHUNK, 64);
                for (Tensor t : tensors.values()) writeData(ch, t, staging);
            }
        });
    }

    /** Copies the tensor to the file in chunks through host staging memory, as little-endian. */
    private static void writeData(FileChannel ch, Tensor t, MemorySegment staging) throws IOException {
        long bytes = t.numel() * t.dtype().bytes();
        for (long at = 0; at < bytes; at += CHUNK) {
            long n = Math.min(CHUNK, bytes - at);
            MemorySegment chunk = staging.asSlice(0, n);
            t.storage().copyToHost(at, chunk, n);
            if (ByteOrder.nativeOrder() != ByteOrder.LITTLE_ENDIAN) {
                if (t.dtype() == DType.F64) MemorySegment.copy(chunk, ValueLayout.JAVA_DOUBLE, 0, chunk, F64_LE, 0, n / 8);
                else MemorySegment.copy(chunk, ValueLayout.JAVA_FLOAT, 0, chunk, F32_LE, 0, n / 4);
            }
            writeFully(ch, chunk.asByteBuffer());
        }
    }

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) ch.write(b);
    }
}
