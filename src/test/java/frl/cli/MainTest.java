package frl.cli;

import frl.data.DataCache;
import frl.data.ImageFolder;
import frl.data.ImageSet;
import frl.data.Sources;
import frl.io.Checkpoint;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The command line: exit codes and one-line errors a user can act on, never a stack trace. */
class MainTest {
    private record Run(int code, String out, String err) {}

    private static Run run(String... args) {
        PrintStream out = System.out, err = System.err;
        ByteArrayOutputStream o = new ByteArrayOutputStream(), e = new ByteArrayOutputStream();
        System.setOut(new PrintStream(o, true));
        System.setErr(new PrintStream(e, true));
        try {
            int code = Main.run(args);
            return new Run(code, o.toString(), e.toString());
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
    }

    @Test void infoNamesTheBackendAndBlas() {
        Run r = run("info");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("backend (auto)"), r.out());
        assertTrue(r.out().contains("blas"), r.out());
    }

    @Test void evalWithoutModelsSaysWhatToGive() {
        Run r = run("eval");
        assertEquals(1, r.code());
        assertTrue(r.err().contains("give --frl, --plain or both"), r.err());
        assertFalse(r.err().contains("\tat "), "no stack trace: " + r.err());
    }

    @Test void trainOnAMissingPathNamesIt(@TempDir Path dir) {
        Path missing = dir.resolve("no-such-images.idx");
        Run r = run("train", "--data", missing.toString(), "--out", dir.resolve("m.safetensors").toString(), "--device", "cpu");
        assertEquals(1, r.code());
        assertTrue(r.err().contains(missing.toString()), r.err());
        assertFalse(r.err().contains("\tat "), "no stack trace: " + r.err());
    }

    @Test void scoreWithACorruptCheckpointNamesTheFile(@TempDir Path dir) throws Exception {
        Path bad = dir.resolve("model.safetensors");
        Files.write(bad, new byte[] {1, 2, 3});
        Run r = run("score", "--model", bad.toString(), "--data", "noise:4", "--out", dir.resolve("s.csv").toString(), "--device", "cpu");
        assertEquals(1, r.code());
        assertTrue(r.err().contains(bad.toString()), r.err());
        assertFalse(Files.exists(dir.resolve("s.csv")), "no output is written when scoring fails");
    }

    @Test void benchRefusesCountsThatMeasureNothing() {
        Run r = run("bench", "--device", "cpu", "-k", "0");
        assertEquals(1, r.code());
        assertTrue(r.err().contains("-k ≥ 1") && r.err().contains("got 64, 32, 0, 5, 2, 1"), r.err());
    }

    /**
     * The CPU runs each step as it comes: no graph is recorded, or reported, whether or not one is asked for. The row
     * gives the host memory's peak (a VAE's step holds more than a MiB) and, off a GPU, no device peak.
     */
    @Test void benchOnTheCpuRecordsNoGraph() {
        for (String graph : new String[] {"--graph", "--no-graph"}) {
            Run r = run("bench", "--device", "cpu", "--batch", "2", "--score-batch", "1", "-k", "1", "--steps", "1", "--warmup", "0", graph);
            assertEquals(0, r.code(), r.err());
            assertTrue(r.out().contains("\"train_img_s\"") && !r.out().contains("\"graph\""), r.out());
            java.util.regex.Matcher peak = java.util.regex.Pattern.compile("\"host_memory_peak_mib\":(\\d+)").matcher(r.out());
            assertTrue(peak.find() && Long.parseLong(peak.group(1)) >= 1 && !r.out().contains("device_memory_peak_mib"), r.out());
        }
    }

    /**
     * --regret N times FRL's score and Likelihood Regret over N random images and reports both rates and their ratio
     * (regret, 100 fitting steps an image, is the slower); for a model with no encoder to fit it says so.
     */
    @Test void benchTimesLikelihoodRegretAgainstTheFrlScore() {
        Run r = run("bench", "--device", "cpu", "--batch", "2", "--score-batch", "2", "-k", "2", "--steps", "1", "--warmup", "0", "--regret", "2");
        assertEquals(0, r.code(), r.err());
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"frl_score_img_s\":([0-9.]+),\"regret_img_s\":([0-9.]+),\"frl_vs_regret\":([0-9.]+)").matcher(r.out());
        assertTrue(m.find() && r.out().contains("\"regret_images\":2"), r.out());
        assertTrue(Double.parseDouble(m.group(1)) > Double.parseDouble(m.group(2)) && Double.parseDouble(m.group(3)) > 1, r.out());
        Run glow = run("bench", "--device", "cpu", "--model", "glow", "--hidden", "8", "--depth", "1", "--levels", "1", "--batch", "2", "--score-batch", "1",
                "-k", "1", "--steps", "1", "--warmup", "0", "--regret", "2");
        assertEquals(1, glow.code());
        assertTrue(glow.err().contains("--regret times Likelihood Regret, which fits a VAE's encoder, over ≥ 0 images; got 2 with --model glow"), glow.err());
    }

    /** --requests N times scoring requests of N images as a Detector serves them (any model); on the CPU no graph is replayed. */
    @Test void benchTimesScoringRequests() {
        Run r = run("bench", "--device", "cpu", "--model", "glow", "--hidden", "8", "--depth", "1", "--levels", "1", "--batch", "2", "--score-batch", "1",
                "-k", "1", "--steps", "1", "--warmup", "0", "--requests", "3");
        assertEquals(0, r.code(), r.err());
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"request_images\":3,\"request_ms\":([0-9.]+),\"request_img_s\":([0-9.]+),\"request_graph\":false").matcher(r.out());
        assertTrue(m.find(), r.out());
        assertEquals(3 / Double.parseDouble(m.group(1)) * 1e3, Double.parseDouble(m.group(2)), 0.1 + 1e-2 * Double.parseDouble(m.group(2)), "img/s = images / ms");
        Run bad = run("bench", "--device", "cpu", "--requests", "-1");
        assertTrue(bad.err().contains("--requests: images a request, ≥ 0; got -1"), bad.err());
    }

    /**
     * --profile prints, per host mode, a head row (naming the model) and op rows for the training step and then for the
     * scoring pass, each marked with its pass; the scoring pass has no backward ops.
     */
    @Test void benchProfilesTrainingStepsAndScoringPasses() {
        Run r = run("bench", "--device", "cpu", "--model", "glow", "--hidden", "8", "--depth", "1", "--levels", "2", "--batch", "2",
                "--score-batch", "2", "-k", "1", "--steps", "1", "--warmup", "0", "--profile");
        assertEquals(0, r.code(), r.err());
        for (String mode : new String[] {"queued", "each op waited for"})
            for (String pass : new String[] {"training", "scoring"})
                assertTrue(r.out().contains("{\"profile\":\"" + mode + "\",\"model\":\"glow\",\"pass\":\"" + pass + "\",\"ms_per_step\":"),
                        mode + " " + pass + ":\n" + r.out());
        List<String> scoring = r.out().lines().filter(l -> l.contains("\"op\"") && l.contains("\"pass\":\"scoring\"")).toList();
        List<String> training = r.out().lines().filter(l -> l.contains("\"op\"") && l.contains("\"pass\":\"training\"")).toList();
        assertTrue(scoring.stream().anyMatch(l -> l.contains("\"op\":\"conv2d\"")), r.out());
        assertTrue(training.stream().anyMatch(l -> l.contains("\"op\":\"conv2dBackwardWeight\"")), r.out());
        assertTrue(scoring.stream().noneMatch(l -> l.contains("Backward")), "no backward op in a scoring pass:\n" + String.join("\n", scoring));
    }

    /** bench-kernels prints each row as it is timed, every one with its time and a positive rate; the copy comes first. */
    @Test void benchKernelsTimesEveryOpOnTheCpu() {
        Run r = run("bench-kernels", "--device", "cpu", "--repeats", "1", "--batch", "2", "--elements", "65536");
        assertEquals(0, r.code(), r.err());
        String[] rows = r.out().lines().filter(l -> l.startsWith("{")).toArray(String[]::new);
        assertTrue(rows.length >= 40 && rows[0].startsWith("{\"op\":\"copy\""), r.out());
        for (String row : rows)
            assertTrue(row.matches("\\{\"op\":\"[^\"]+\",\"device\":\"cpu\",.*\"ms\":[0-9.]+,.*\"(GB/s|GFLOP/s)\":[0-9.]*[1-9][0-9.]*(,.*)?}"), row);
        Run bad = run("bench-kernels", "--device", "cpu", "--repeats", "0");
        assertEquals(1, bad.code());
        assertTrue(bad.err().contains("need --repeats ≥ 1") && bad.err().contains("got 0, 64, 67108864"), bad.err());
    }

    @Test void unknownDeviceIsRejected(@TempDir Path dir) {
        Run r = run("bench", "--device", "tpu");
        assertEquals(1, r.code());
        assertTrue(r.err().contains("unknown device 'tpu'"), r.err());
    }

    @Test void trainRefusesAModelTooBigForTheMachineBeforeAllocatingIt(@TempDir Path dir) {
        Path out = dir.resolve("m.safetensors");
        Run r = run("train", "--data", "noise:64", "--ngf", "100000", "--out", out.toString(), "--device", "cpu");
        assertEquals(1, r.code(), r.err());
        assertTrue(r.err().contains("this model (VAE ngf 100000, nz 200:") && r.err().contains("GiB of memory the cpu backend has; a smaller --ngf or --batch fits"), r.err());
        Run glow = run("train", "--data", "noise:64", "--model", "glow", "--hidden", "100000", "--out", out.toString(), "--device", "cpu");
        assertEquals(1, glow.code(), glow.err());
        assertTrue(glow.err().contains("this model (Glow hidden 100000, depth 32, levels 3:") && glow.err().contains("a smaller --hidden, --depth or --batch fits"), glow.err());
        assertFalse(Files.exists(out));
    }

    @Test void trainRefusesOptionsThatWouldTrainNothingOrNoHfChannel(@TempDir Path dir) {
        String out = dir.resolve("m.safetensors").toString();
        String[][] cases = {
                {"--max-images", "32", "--max-images 32 is fewer than one --batch of 64: no step would run"},
                {"--max-images", "-5", "--max-images must be ≥ 0 (0 = the whole set), got -5"},
                {"--hf-kernel", "4", "--hf-kernel must be odd and at least 3"},
                {"--hf-kernel", "1", "--hf-kernel must be odd and at least 3"}};
        for (String[] c : cases) {
            Run r = run("train", "--data", "noise:64", c[0], c[1], "--out", out, "--device", "cpu");
            assertEquals(1, r.code(), c[0] + " " + c[1]);
            assertTrue(r.err().contains(c[2]), r.err());
        }
        assertFalse(Files.exists(dir.resolve("m.safetensors")));
    }

    @Test void trainNeverReplacesAModelUnlessTold(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("m.safetensors");
        Files.writeString(out, "a model the user keeps");
        Run r = run("train", "--data", "noise:64", "--out", out.toString(), "--device", "cpu");
        assertEquals(1, r.code());
        assertTrue(r.err().contains(out + " exists: --resume continues it, --overwrite starts over in its place"), r.err());
        assertEquals("a model the user keeps", Files.readString(out));
    }

    /** Two tiny models (ngf 8, nz 8, one step on 64 noise images): FRL and plain. */
    private static Path[] tinyModels(Path dir) {
        Path frl = dir.resolve("frl.safetensors"), plain = dir.resolve("plain.safetensors");
        String[] common = {"--data", "noise:64", "--ngf", "8", "--nz", "8", "--epochs", "1", "--device", "cpu"};
        assertEquals(0, run(concat(new String[] {"train", "--out", frl.toString()}, common)).code());
        assertEquals(0, run(concat(new String[] {"train", "--no-hf", "--out", plain.toString()}, common)).code());
        return new Path[] {frl, plain};
    }

    private static String[] concat(String[] a, String[] b) {
        String[] c = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }

    @Test void modelsGivenInTheWrongPlaceAreNamed(@TempDir Path dir) {
        Path[] m = tinyModels(dir);
        Run swapped = run("eval", "--frl", m[1].toString(), "--plain", m[0].toString(), "--in", "noise:8", "--ood", "constant:8",
                "--out", dir.resolve("e").toString(), "--device", "cpu");
        assertEquals(1, swapped.code());
        assertTrue(swapped.err().contains("--frl " + m[1] + " has no HF channel"), swapped.err());
        Run resumed = run("train", "--data", "noise:64", "--ngf", "16", "--epochs", "2", "--resume", "--out", m[0].toString(), "--device", "cpu");
        assertEquals(1, resumed.code());
        assertTrue(resumed.err().contains("--resume: " + m[0] + " was trained with --ngf 8; leave the model options out"), resumed.err());
        assertTrue(resumed.err().length() < 400, "one short line, not the list of tensors: " + resumed.err());
        Run plainAsFrl = run("train", "--data", "noise:64", "--hf-kernel", "5", "--epochs", "2", "--resume", "--out", m[1].toString(), "--device", "cpu");
        assertTrue(plainAsFrl.err().contains("was trained with no HF channel (--no-hf)"), plainAsFrl.err());
        Run own = run("train", "--data", "noise:64", "--epochs", "2", "--resume", "--out", m[0].toString(), "--device", "cpu");
        assertEquals(0, own.code(), "the model options come from the checkpoint (ngf 8, nz 8): " + own.err());
        assertTrue(own.err().contains("resuming after epoch 1 of 2"), own.err());
        Run both = run("train", "--data", "noise:64", "--resume", "--overwrite", "--out", m[0].toString(), "--device", "cpu");
        assertTrue(both.err().contains("--resume continues the model at --out, --overwrite replaces it: give one"), both.err());
    }

    @Test void missingModelsAndUnwritableOutputsSayWhy(@TempDir Path dir) throws Exception {
        Path missing = dir.resolve("none.safetensors");
        Run r = run("score", "--model", missing.toString(), "--data", "noise:4", "--out", dir.resolve("s.csv").toString(), "--device", "cpu");
        assertEquals(1, r.code());
        assertTrue(r.err().contains("cannot read " + missing + ": no such file or folder"), r.err());
        r = run("score", "--model", dir.toString(), "--data", "noise:4", "--out", dir.resolve("s.csv").toString(), "--device", "cpu");
        assertTrue(r.err().contains("'" + dir + "' is a folder, expected a .safetensors file"), r.err());

        Path[] m = tinyModels(dir);
        Path file = Files.writeString(dir.resolve("a-file"), "x"), out = file.resolve("s.csv");
        r = run("score", "--model", m[0].toString(), "--data", "noise:4", "-k", "2", "--out", out.toString(), "--device", "cpu");
        assertEquals(1, r.code());
        assertTrue(r.err().contains("cannot write " + out + ": " + file + ": exists and is not a folder"), r.err());
        r = run("score", "--model", m[0].toString(), "--data", "", "--out", dir.resolve("s.csv").toString(), "--device", "cpu");
        assertTrue(r.err().contains("data set '': an empty name"), r.err());
        r = run("score", "--model", m[0].toString(), "--data", "noise:4", "--out", dir.toString(), "--device", "cpu");
        assertTrue(r.err().contains("--out " + dir + " is a folder; give a file name for the CSV"), r.err());
    }

    /** A folder is scored part by part, each row with its file's path; any part size gives the same scores. */
    @Test void aFolderIsScoredPartByPartWithItsFileNames(@TempDir Path dir) throws Exception {
        Path[] m = tinyModels(dir);
        Path images = Files.createDirectories(dir.resolve("imgs/sub"));
        java.util.Random r = new java.util.Random(5);
        for (int i = 0; i < 7; i++) {
            var img = new java.awt.image.BufferedImage(28, 28, java.awt.image.BufferedImage.TYPE_BYTE_GRAY);
            for (int y = 0; y < 28; y++) for (int x = 0; x < 28; x++) img.getRaster().setSample(x, y, 0, r.nextInt(256));
            javax.imageio.ImageIO.write(img, "png", images.resolve(i == 3 ? "a,\"odd\".png" : "img" + i + ".png").toFile());
        }
        String folder = dir.resolve("imgs").toString();
        Path whole = dir.resolve("whole.csv"), parts = dir.resolve("parts.csv");
        assertEquals(0, run("score", "--model", m[0].toString(), "--data", folder, "-k", "3", "--out", whole.toString(), "--device", "cpu").code());
        Run p = run("score", "--model", m[0].toString(), "--data", folder, "-k", "3", "--read-chunk", "3", "--out", parts.toString(), "--device", "cpu");
        assertEquals(0, p.code(), p.err());
        assertTrue(p.out().matches("(?s).*wrote 7 scores to " + java.util.regex.Pattern.quote(parts.toString()) + " in [0-9.]+ s \\([0-9]+ img/s\\)\n.*"), p.out());
        java.util.List<String> rows = Files.readAllLines(whole), partRows = Files.readAllLines(parts);
        assertEquals(rows.size(), partRows.size());
        for (int i = 1; i < rows.size(); i++) {   // the same noise per image; batches of other sizes may round apart
            String[] a = rows.get(i).split(",(?=[-0-9.]+,[-0-9.]+,[-0-9.]+$)"), b = partRows.get(i).split(",(?=[-0-9.]+,[-0-9.]+,[-0-9.]+$)");
            assertEquals(a[0], b[0], "index and file");
            double na = Double.parseDouble(a[1].split(",")[0]), nb = Double.parseDouble(b[1].split(",")[0]);
            assertEquals(na, nb, 1e-3, "row " + i + ": the same nll for any part size (other noise moves it ~0.1 nats)");
        }
        assertEquals("index,file,nll_nats,complexity_bits,score", rows.get(0));
        assertTrue(rows.get(1).startsWith("0,\"sub/a,\"\"odd\"\".png\","), rows.get(1));
        assertTrue(rows.get(2).startsWith("1,sub/img0.png,"), rows.get(2));
        assertEquals(8, rows.size());
        Path first2 = dir.resolve("first2.csv");
        assertEquals(0, run("score", "--model", m[0].toString(), "--data", folder + "@2", "-k", "3", "--out", first2.toString(), "--device", "cpu").code());
        java.util.List<String> two = Files.readAllLines(first2);
        assertEquals(3, two.size(), "@2: the first two files");
        assertTrue(two.get(2).startsWith("1,sub/img0.png,"), two.get(2));

        Path broken = Files.write(images.resolve("img5.png"), new byte[] {1, 2, 3});   // in the second part of 3, read while the first is scored
        String before = Files.readString(parts);
        Run b = run("score", "--model", m[0].toString(), "--data", folder, "-k", "3", "--read-chunk", "3", "--out", parts.toString(), "--device", "cpu");
        assertEquals(1, b.code());
        assertTrue(b.err().contains(broken + ": expected a PNG or JPEG image"), b.err());
        assertEquals(before, Files.readString(parts), "the CSV from before, not a half-written one");
    }

    /** --shard K/N runs, of a folder or any set, concatenated give the whole run's rows: the same indices, files and noise. */
    @Test void shardsConcatenateToTheWholeRun(@TempDir Path dir) throws Exception {
        Path m = tinyModels(dir)[0];
        Path images = dir.resolve("imgs");
        assertEquals(0, run("data", "export", "noise:7", "--out", images.toString()).code());
        for (String data : new String[] {images.toString(), "noise:10"}) {
            Path whole = dir.resolve("whole.csv");
            assertEquals(0, run("score", "--model", m.toString(), "--data", data, "-k", "2", "--out", whole.toString(), "--device", "cpu").code());
            List<String> rows = Files.readAllLines(whole), joined = new java.util.ArrayList<>();
            for (int k = 1; k <= 3; k++) {
                Path part = dir.resolve("part" + k + ".csv");
                Run r = run("score", "--model", m.toString(), "--data", data, "-k", "2", "--shard", k + "/3", "--read-chunk", "2", "--out", part.toString(), "--device", "cpu");
                assertEquals(0, r.code(), r.err());
                assertTrue(r.out().contains("(shard " + k + "/3: images "), r.out());
                List<String> lines = Files.readAllLines(part);
                assertEquals(rows.get(0), lines.get(0), "the same header");
                joined.addAll(lines.subList(1, lines.size()));
            }
            assertEquals(rows.size() - 1, joined.size(), data);
            for (int i = 0; i < joined.size(); i++) {
                String[] a = rows.get(i + 1).split(","), b = joined.get(i).split(",");
                assertEquals(a[0] + "," + a[1], b[0] + "," + b[1], "row " + i + ": index and file");
                assertEquals(Double.parseDouble(a[2]), Double.parseDouble(b[2]), 1e-3, data + " row " + i + ": the whole run's noise (batches of other sizes may round apart)");
                assertEquals(a[3], b[3], "complexity");
            }
        }
        Path flagged = dir.resolve("flagged.csv");   // the threshold between the whole run's scores: some rows each way
        List<String> rows = Files.readAllLines(dir.resolve("whole.csv"));
        double[] scores = rows.stream().skip(1).mapToDouble(line -> Double.parseDouble(line.split(",")[4])).sorted().toArray();
        double t = (scores[4] + scores[5]) / 2;
        assertEquals(0, run("score", "--model", m.toString(), "--data", "noise:10", "-k", "2", "--threshold", Double.toString(t), "--out", flagged.toString(), "--device", "cpu").code());
        List<String> marked = Files.readAllLines(flagged);
        assertEquals(rows.get(0) + ",ood", marked.get(0));
        for (int i = 1; i < marked.size(); i++) {
            String[] f = marked.get(i).split(",");
            assertEquals(Double.parseDouble(f[4]) > t, Boolean.parseBoolean(f[5]), marked.get(i));
        }
        assertEquals(5, marked.stream().filter(line -> line.endsWith(",true")).count(), "the five above the threshold");
        Run none = run("score", "--model", m.toString(), "--data", "noise:2", "--shard", "1/3", "--out", dir.resolve("none.csv").toString(), "--device", "cpu");
        assertTrue(none.out().contains("wrote 0 scores (shard 1/3: none of the 2 images)"), none.out() + none.err());
        for (String bad : new String[] {"0/3", "4/3", "3", "a/b"}) {
            Run r = run("score", "--model", m.toString(), "--data", "noise:2", "--shard", bad, "--out", dir.resolve("x.csv").toString(), "--device", "cpu");
            assertTrue(r.err().contains("--shard " + bad + ": expected K/N with 1 ≤ K ≤ N"), r.err());
        }
    }

    /** A set exported as PNGs reads back as the same images, and each file's size in bits is the complexity `frl score` gives it. */
    @Test void anExportedSetReadsBackWithItsComplexityAsItsFileSizes(@TempDir Path dir) throws Exception {
        Path images = dir.resolve("noise");
        Run e = run("data", "export", "noise:12", "--out", images.toString());
        assertEquals(0, e.code(), e.err());
        assertTrue(e.out().contains("wrote 12 images of noise (1×32×32 PNG) to " + images), e.out());
        List<Path> files = ImageFolder.files(images);
        assertEquals(12, files.size());
        assertEquals("00.png", files.getFirst().getFileName().toString());
        ImageSet drawn = new Sources(DataCache.fromEnvironment(x -> {}), 1).load("noise:12", 1);
        ImageSet read = ImageFolder.read("n", images, 0, 0, 0);
        for (int i = 0; i < 12; i++) assertArrayEquals(drawn.image(i), read.image(i), "image " + i);

        Path scores = dir.resolve("s.csv");
        Run s = run("score", "--model", tinyModels(dir)[0].toString(), "--data", images.toString(), "-k", "1", "--out", scores.toString(), "--device", "cpu");
        assertEquals(0, s.code(), s.err());
        List<String> rows = Files.readAllLines(scores);
        for (int i = 0; i < 12; i++) {
            String[] row = rows.get(i + 1).split(",");
            assertEquals(files.get(i).getFileName().toString(), row[1]);
            assertEquals(8 * Files.size(files.get(i)), Long.parseLong(row[3]), "complexity_bits of " + row[1]);
        }

        Run again = run("data", "export", "constant:3", "--out", images.toString());
        assertEquals(1, again.code());
        assertTrue(again.err().contains("frl data export: --out " + images + " exists and is not an empty folder; give a new one"), again.err());
        Run bad = run("data", "export", "noise:3", "--channels", "2", "--out", dir.resolve("x").toString());
        assertTrue(bad.err().contains("--channels must be 1 or 3, got 2"), bad.err());
        Path empty = Files.createDirectories(dir.resolve("empty"));
        Run rgb = run("data", "export", "constant:3", "--channels", "3", "--out", empty.toString());
        assertTrue(rgb.out().contains("wrote 3 images of constant (3×32×32 PNG) to " + empty), "an empty folder is filled: " + rgb.out() + rgb.err());
        assertEquals(3, ImageFolder.read("c", empty, 0, 0, 0).channels());
        try (var left = Files.list(dir)) {
            assertTrue(left.noneMatch(p -> p.getFileName().toString().contains(".part-")), "no part folder left");
        }
    }

    /** Likelihood Ratio and Likelihood Regret from the command line: the background model, eval's columns, score's columns for any part size. */
    @Test void ratioAndRegretBaselinesFromTheCommandLine(@TempDir Path dir) throws Exception {
        Path[] m = tinyModels(dir);
        Path bg = dir.resolve("bg.safetensors");
        Run t = run("train", "--no-hf", "--perturb", "0.2", "--data", "noise:64", "--ngf", "8", "--nz", "8", "--epochs", "1", "--out", bg.toString(), "--device", "cpu");
        assertEquals(0, t.code(), t.err());
        assertTrue(t.err().contains("training plain background (perturb 0.2) VAE"), t.err());

        Run e = run("eval", "--plain", m[1].toString(), "--background", bg.toString(), "--regret", "--regret-steps", "2", "-k", "2",
                "--in", "noise:6", "--ood", "constant:6", "--out", dir.resolve("e").toString(), "--device", "cpu");
        assertEquals(0, e.code(), e.err());
        assertTrue(e.out().contains("| OOD set (n_in / n_ood) | nll | ic | ratio | regret |"), e.out());
        String report = Files.readString(dir.resolve("e/report.md"));
        assertTrue(report.contains("background model") && report.contains("(VAE ngf 8, nz 8, perturb 0.2)") && report.contains("2 Adam steps per image"), report);

        Path images = Files.createDirectories(dir.resolve("imgs"));
        java.util.Random r = new java.util.Random(6);
        for (int i = 0; i < 5; i++) {
            var img = new java.awt.image.BufferedImage(32, 32, java.awt.image.BufferedImage.TYPE_BYTE_GRAY);
            for (int y = 0; y < 32; y++) for (int x = 0; x < 32; x++) img.getRaster().setSample(x, y, 0, r.nextInt(256));
            javax.imageio.ImageIO.write(img, "png", images.resolve("img" + i + ".png").toFile());
        }
        Path whole = dir.resolve("whole.csv"), parts = dir.resolve("parts.csv");
        String[] score = {"score", "--model", m[1].toString(), "--background", bg.toString(), "--regret", "--regret-steps", "2", "-k", "2",
                "--data", images.toString(), "--device", "cpu", "--out"};
        assertEquals(0, run(concat(score, new String[] {whole.toString()})).code());
        Run p = run(concat(score, new String[] {parts.toString(), "--read-chunk", "2"}));
        assertEquals(0, p.code(), p.err());
        java.util.List<String> a = Files.readAllLines(whole), b = Files.readAllLines(parts);
        assertEquals("index,file,nll_nats,complexity_bits,score,nll_background_nats,ratio,regret", a.get(0));
        assertEquals(6, a.size());
        for (int i = 1; i < a.size(); i++) {
            String[] x = a.get(i).split(","), y = b.get(i).split(",");
            assertEquals(8, x.length, a.get(i));
            double nll = Double.parseDouble(x[2]), bgNll = Double.parseDouble(x[5]), ratio = Double.parseDouble(x[6]);
            assertEquals(nll - bgNll, ratio, 2e-4, "ratio = nll − nll_background");
            for (int c : new int[] {2, 5, 6, 7}) assertEquals(Double.parseDouble(x[c]), Double.parseDouble(y[c]), 1e-3, "row " + i + " column " + c + ": parts of 2 as the whole");
        }

        Run wrongKind = run("eval", "--plain", m[1].toString(), "--background", m[0].toString(), "--in", "noise:4", "--ood", "constant:4",
                "--out", dir.resolve("w").toString(), "--device", "cpu");
        assertEquals(1, wrongKind.code());
        assertTrue(wrongKind.err().contains("--background " + m[0] + " is not a model of --plain " + m[1] + "'s kind"), wrongKind.err());
        Run noPlain = run("eval", "--frl", m[0].toString(), "--regret", "--in", "noise:4", "--ood", "constant:4", "--out", dir.resolve("w").toString(), "--device", "cpu");
        assertTrue(noPlain.err().contains("--regret is a baseline of the plain model: give --plain too"), noPlain.err());
        Run badRate = run("train", "--perturb", "1.5", "--data", "noise:64", "--out", dir.resolve("x.safetensors").toString(), "--device", "cpu");
        assertTrue(badRate.err().contains("--perturb is a probability per sub-pixel, within [0, 1], got 1.5"), badRate.err());
        Run otherRate = run("train", "--resume", "--perturb", "0.5", "--epochs", "2", "--data", "noise:64", "--out", bg.toString(), "--device", "cpu");
        assertTrue(otherRate.err().contains("--resume: " + bg + " was trained with --perturb 0.2; leave --perturb out to take its own"), otherRate.err());
        Run resumed = run("train", "--resume", "--epochs", "2", "--data", "noise:64", "--out", bg.toString(), "--device", "cpu");
        assertEquals(0, resumed.code(), resumed.err());
        assertTrue(resumed.err().contains("background (perturb 0.2)"), "a resumed background model is trained on perturbed images: " + resumed.err());
        assertEquals("0.2", frl.io.Checkpoint.peek(bg).config().get("perturb"));
    }

    /** A Glow goes through train, resume, eval, score and sample like a VAE; regret, which fits a VAE's encoder, is refused. */
    @Test void glowFromTheCommandLine(@TempDir Path dir) throws Exception {
        Path frl = dir.resolve("glow-frl.safetensors"), plain = dir.resolve("glow-plain.safetensors");
        String[] common = {"--model", "glow", "--hidden", "8", "--depth", "2", "--levels", "2", "--data", "noise:32", "--batch", "16", "--epochs", "1", "--device", "cpu"};
        Run t = run(concat(new String[] {"train", "--out", frl.toString()}, common));
        assertEquals(0, t.code(), t.err());
        assertTrue(t.err().contains("training FRL (x + HF k=5) Glow hidden 8, depth 2, levels 2, warm-up 200 steps on noise"), t.err());
        assertTrue(t.err().contains("(bpd "), t.err());
        Run warm = run(concat(new String[] {"train", "--no-hf", "--warmup", "3", "--out", plain.toString()}, common));
        assertEquals(0, warm.code(), warm.err());
        assertTrue(warm.err().contains("Glow hidden 8, depth 2, levels 2, warm-up 3 steps on noise"), warm.err());
        assertEquals("3", Checkpoint.peek(plain).config().get("warmup"), "kept for --resume");
        Run otherWarmup = run("train", "--data", "noise:32", "--warmup", "5", "--epochs", "2", "--resume", "--out", plain.toString(), "--device", "cpu");
        assertTrue(otherWarmup.err().contains("was trained with --warmup 3; leave --warmup out to take its own"), otherWarmup.err());
        Run badWarmup = run(concat(new String[] {"train", "--warmup", "-1", "--out", dir.resolve("w.safetensors").toString()}, common));
        assertTrue(badWarmup.err().contains("--warmup is a number of steps, ≥ 0 (0: none), got -1"), badWarmup.err());
        assertEquals("200", Checkpoint.peek(frl).config().get("warmup"), "a Glow warms up by default");

        Run otherDepth = run("train", "--data", "noise:32", "--depth", "3", "--epochs", "2", "--resume", "--out", frl.toString(), "--device", "cpu");
        assertEquals(1, otherDepth.code());
        assertTrue(otherDepth.err().contains("was trained with --depth 2"), otherDepth.err());
        Run asVae = run("train", "--data", "noise:32", "--ngf", "8", "--epochs", "2", "--resume", "--out", frl.toString(), "--device", "cpu");
        assertTrue(asVae.err().contains("was trained with a glow (no --ngf)"), asVae.err());
        Run resumed = run("train", "--data", "noise:32", "--batch", "16", "--epochs", "2", "--resume", "--out", frl.toString(), "--device", "cpu");
        assertEquals(0, resumed.code(), resumed.err());

        Run e = run("eval", "--frl", frl.toString(), "--plain", plain.toString(), "-k", "2", "--in", "noise:6", "--ood", "constant:6",
                "--out", dir.resolve("e").toString(), "--device", "cpu");
        assertEquals(0, e.code(), e.err());
        assertTrue(e.out().contains("| nll | ic | nll_frl | frl |"), e.out());
        assertTrue(Files.readString(dir.resolve("e/report.md")).contains("frl model: " + frl + " (Glow hidden 8, depth 2, levels 2)"));
        Run s = run("score", "--model", frl.toString(), "-k", "2", "--data", "constant:4", "--out", dir.resolve("s.csv").toString(), "--device", "cpu");
        assertEquals(0, s.code(), s.err());
        assertEquals(5, Files.readAllLines(dir.resolve("s.csv")).size());
        Run sample = run("sample", "--model", frl.toString(), "-n", "4", "--temperature", "0.7", "--out", dir.resolve("g.png").toString(), "--device", "cpu");
        assertEquals(0, sample.code(), sample.err());
        Run badTemperature = run("sample", "--model", frl.toString(), "--temperature", "-1", "--out", dir.resolve("t.png").toString(), "--device", "cpu");
        assertTrue(badTemperature.err().contains("--temperature must be finite and ≥ 0, got -1.0"), badTemperature.err());
        assertTrue(javax.imageio.ImageIO.read(dir.resolve("g.png").toFile()).getWidth() > 64);

        Run regret = run("eval", "--plain", plain.toString(), "--regret", "--regret-steps", "1", "--in", "noise:4", "--ood", "constant:4",
                "--out", dir.resolve("r").toString(), "--device", "cpu");
        assertEquals(1, regret.code());
        assertTrue(regret.err().contains("Likelihood Regret fits a VAE's encoder to each image; this model is a Glow hidden 8"), regret.err());
    }

    /** A PixelCNN++ through train and eval; its NLL is exact, so -k changes nothing. */
    @Test void pixelCnnFromTheCommandLine(@TempDir Path dir) throws Exception {
        Path m = dir.resolve("pixelcnn.safetensors");
        Run t = run("train", "--model", "pixelcnn", "--resnets", "1", "--filters", "8", "--mixtures", "2", "--data", "noise:16", "--batch", "8",
                "--epochs", "1", "--out", m.toString(), "--device", "cpu");
        assertEquals(0, t.code(), t.err());
        assertTrue(t.err().contains("training FRL (x + HF k=5) PixelCNN++ resnets 1, filters 8, mixtures 2, dropout 0.5 on noise"), t.err());
        assertEquals("0.5", frl.io.Checkpoint.peek(m).config().get("dropout"), "the paper's rate by default, kept for --resume");
        Run otherRate = run("train", "--data", "noise:16", "--dropout", "0.2", "--epochs", "2", "--resume", "--out", m.toString(), "--device", "cpu");
        assertTrue(otherRate.err().contains("was trained with --dropout 0.5; leave --dropout out to take its own"), otherRate.err());
        Run glow = run("train", "--model", "glow", "--dropout", "0.5", "--data", "noise:16", "--out", dir.resolve("g.safetensors").toString(), "--device", "cpu");
        assertTrue(glow.err().contains("--dropout is PixelCNN++'s; a glow has none"), glow.err());
        Run badRate = run("train", "--model", "pixelcnn", "--dropout", "1", "--data", "noise:16", "--out", dir.resolve("b.safetensors").toString(), "--device", "cpu");
        assertTrue(badRate.err().contains("--dropout is a probability per value, within [0, 1), got 1.0"), badRate.err());
        Path none = dir.resolve("none.safetensors");
        assertEquals(0, run("train", "--model", "pixelcnn", "--resnets", "1", "--filters", "8", "--mixtures", "2", "--data", "noise:16", "--batch", "8",
                "--epochs", "1", "--dropout", "0", "--out", none.toString(), "--device", "cpu").code());
        assertFalse(frl.io.Checkpoint.peek(none).config().containsKey("dropout"), "no dropout: the file as before");
        Run otherWidth = run("train", "--data", "noise:16", "--filters", "16", "--epochs", "2", "--resume", "--out", m.toString(), "--device", "cpu");
        assertTrue(otherWidth.err().contains("was trained with --filters 8"), otherWidth.err());
        String[] score = {"score", "--model", m.toString(), "--data", "constant:3", "--device", "cpu", "--out"};
        assertEquals(0, run(concat(score, new String[] {dir.resolve("k1.csv").toString(), "-k", "1"})).code());
        assertEquals(0, run(concat(score, new String[] {dir.resolve("k5.csv").toString(), "-k", "5"})).code());
        assertEquals(Files.readAllLines(dir.resolve("k1.csv")), Files.readAllLines(dir.resolve("k5.csv")));
    }

    /** The demo's model family is checked before any data is fetched; regret needs the VAE. */
    @Test void demoRefusesAnUnknownFamilyAndRegretWithoutAVae(@TempDir Path dir) {
        Run unknown = run("demo", "--model", "flow", "--out", dir.toString(), "--device", "cpu");
        assertEquals(1, unknown.code());
        assertTrue(unknown.err().contains("--model must be vae, glow or pixelcnn, got 'flow'"), unknown.err());
        Run regret = run("demo", "--model", "pixelcnn", "--regret", "--out", dir.toString(), "--device", "cpu");
        assertEquals(1, regret.code());
        assertTrue(regret.err().contains("--regret fits a VAE's encoder to each image: not with --model pixelcnn"), regret.err());
    }
}
