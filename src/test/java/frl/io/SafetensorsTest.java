package frl.io;

import frl.backend.Backend;
import frl.backend.Backends;
import frl.tensor.DType;
import frl.tensor.Device;
import frl.tensor.Scope;
import frl.tensor.Shape;
import frl.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class SafetensorsTest {
    private final Backend be = Backends.cpu();
    @TempDir Path dir;

    @Test void roundTripKeepsNamesShapesValuesAndMetadata() throws IOException {
        Path f = dir.resolve("sub/weights.safetensors");
        try (Scope _ = Scope.open()) {
            Map<String, Tensor> in = new LinkedHashMap<>();
            in.put("encoder.main.0.weight", be.fromHost(Shape.of(2, 3), new double[] {1, -2, 3.5f, 1e-30, -0.0, 7}));
            in.put("scalar", be.fromHost(Shape.of(), new double[] {42}));
            in.put("empty", be.empty(Shape.of(0, 3)));
            in.put("double", Tensor.host(Shape.of(2), DType.F64, Device.CPU).copyFrom(new double[] {Math.PI, -1e300}));
            Safetensors.write(f, in, Map.of("note", "hello"));
            try (Safetensors.Contents c = Safetensors.read(f)) {
                assertEquals(List.copyOf(in.keySet()), List.copyOf(c.tensors().keySet()));
                for (var e : in.entrySet()) {
                    Tensor got = c.tensors().get(e.getKey());
                    assertEquals(e.getValue().shape(), got.shape(), e.getKey());
                    assertEquals(e.getValue().dtype(), got.dtype(), e.getKey());
                    assertArrayEquals(e.getValue().toDoubles(), got.toDoubles(), e.getKey());
                }
                assertEquals(Map.of("note", "hello"), c.metadata());
            }
            // the layout is the standard one: u64 LE header length, padded to 8, F32 data little-endian
            ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(f)).order(ByteOrder.LITTLE_ENDIAN);
            long n = b.getLong(0);
            assertEquals(0, n % 8);
            assertEquals(-2f, b.getFloat((int) (8 + n + 4)));
            try (var list = Files.list(f.getParent())) {
                assertEquals(List.of(f), list.toList(), "no temporary file is left behind");
            }
        }
    }

    /** A file laid out by hand as the reference writer does, with the types we convert on reading. */
    @Test void readsOtherDtypesIntoFloat() throws IOException {
        ByteBuffer d = ByteBuffer.allocate(2 * 2 + 2 * 2 + 8 * 2 + 3 + 4 * 2).order(ByteOrder.LITTLE_ENDIAN);
        d.putShort(Float.floatToFloat16(1.5f)).putShort(Float.floatToFloat16(-0.25f));        // F16 [0, 4)
        d.putShort((short) (Float.floatToIntBits(3.0f) >>> 16)).putShort((short) (Float.floatToIntBits(-1e10f) >>> 16)); // BF16 [4, 8)
        d.putLong(7).putLong(-3);                                                             // I64 [8, 24)
        d.put((byte) 0).put((byte) 200).put((byte) 255);                                       // U8 [24, 27)
        d.putInt(-5).putInt(1 << 20);                                                         // I32 [27, 35)
        Path f = file("{\"h\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"BF16\",\"shape\":[1,2],\"data_offsets\":[4,8]},"
                + "\"n\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[8,24]},\"u\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[24,27]},"
                + "\"i\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[27,35]}}", d.array());
        try (Safetensors.Contents c = Safetensors.read(f)) {
            assertArrayEquals(new float[] {1.5f, -0.25f}, c.tensors().get("h").toFloats());
            assertArrayEquals(new float[] {3.0f, Float.intBitsToFloat(Float.floatToIntBits(-1e10f) & 0xFFFF0000)}, c.tensors().get("b").toFloats());
            assertEquals(Shape.of(1, 2), c.tensors().get("b").shape());
            assertArrayEquals(new float[] {7, -3}, c.tensors().get("n").toFloats());
            assertArrayEquals(new float[] {0, 200, 255}, c.tensors().get("u").toFloats());
            assertArrayEquals(new float[] {-5, 1 << 20}, c.tensors().get("i").toFloats());
            assertTrue(c.metadata().isEmpty());
        }
    }

    private static final String ONE = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";

    @Test void rejectsCorruptFilesWithTheReason() throws IOException {
        byte[] eight = new byte[8], twelve = new byte[12];
        expectBad(raw(new byte[5]), "truncated: 5 bytes");
        byte[] longHeader = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(1000).array();
        expectBad(raw(longHeader), "header length 1000 exceeds the 8 bytes");
        expectBad(file("{\"a\": {", eight), "bad JSON header: JSON at character");
        expectBad(file("[1]", new byte[0]), "header must be a JSON object");
        expectBad(file(ONE.replace("F32", "Q7"), eight), "tensor 'a': unsupported dtype 'Q7'");
        expectBad(file(ONE.replace("[2]", "[3]"), eight), "tensor 'a': data_offsets [0, 8] hold 8 bytes, expected 12 for shape [3] of F32");
        expectBad(file(ONE, new byte[4]), "tensor 'a': data_offsets [0, 8] run past the 4-byte data section");
        expectBad(file(ONE.replace("[0,8]", "[8,0]"), eight), "end before they begin");
        expectBad(file(ONE.replace("[0,8]", "[0]"), eight), "'data_offsets' must be a list of 2 non-negative integers");
        expectBad(file(ONE.replace("\"shape\":[2],", ""), eight), "tensor 'a': 'shape' must be a list");
        expectBad(file(ONE.replace("[2]", "[-2]"), eight), "'shape' must hold non-negative integers");
        expectBad(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", twelve),
                "tensor 'b': data_offsets [4, 8] overlap tensor 'a' which ends at 8");
        expectBad(file(ONE.replace("[0,8]", "[4,12]"), twelve), "tensor 'a': data begins at 4, expected 0");
        expectBad(file(ONE, twelve), "the tensors cover 8 bytes of data, the file holds 12");
        expectBad(file("{\"__metadata__\":{\"k\":1}}", new byte[0]), "__metadata__ entry 'k' must be a string");
    }

    @Test void truncatedDataIsCaught() throws IOException {
        Path f = dir.resolve("t.safetensors");
        try (Scope _ = Scope.open()) {
            Safetensors.write(f, Map.of("w", be.fromHost(Shape.of(4), new double[] {1, 2, 3, 4})), Map.of());
        }
        byte[] all = Files.readAllBytes(f);
        Files.write(f, java.util.Arrays.copyOf(all, all.length - 3));
        expectBad(f, "tensor 'w': data_offsets [0, 16] run past the 13-byte data section");
    }

    /** A write that fails halfway leaves the previous file untouched and no temporary file. */
    @Test void failedWriteKeepsTheOldFile() throws IOException {
        Path f = dir.resolve("w.safetensors");
        try (Scope _ = Scope.open()) {
            Safetensors.write(f, Map.of("w", be.fromHost(Shape.of(1), new double[] {5})), Map.of());
            Tensor freed = be.fromHost(Shape.of(1), new double[] {6});
            freed.close();
            assertThrows(IllegalStateException.class, () -> Safetensors.write(f, Map.of("w", freed), Map.of()));
        }
        try (Safetensors.Contents c = Safetensors.read(f)) {
            assertEquals(5, c.tensors().get("w").get(0));
        }
        try (var list = Files.list(dir)) {
            assertEquals(List.of(f), list.toList());
        }
    }

    private void expectBad(Path f, String expected) {
        var e = assertThrows(IOException.class, () -> Safetensors.read(f).close());
        assertTrue(e.getMessage().contains(f.toString()), "names the file: " + e.getMessage());
        assertTrue(e.getMessage().contains(expected), "expected '" + expected + "' in: " + e.getMessage());
    }

    private int files;

    private Path raw(byte[] bytes) throws IOException {
        return Files.write(dir.resolve("f" + files++ + ".safetensors"), bytes);
    }

    private Path file(String header, byte[] data) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h).put(data);
        return raw(b.array());
    }

    @Test void aPngGivenAsAModelIsRecognised(@TempDir Path dir) throws Exception {
        Path png = dir.resolve("model.safetensors");
        javax.imageio.ImageIO.write(new java.awt.image.BufferedImage(4, 4, java.awt.image.BufferedImage.TYPE_BYTE_GRAY), "png", png.toFile());
        IOException e = org.junit.jupiter.api.Assertions.assertThrows(IOException.class, () -> Safetensors.read(png));
        org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains(png + ": ") && e.getMessage().endsWith("(this looks like a PNG image)"), e.getMessage());
    }
}
