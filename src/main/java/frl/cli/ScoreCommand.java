package frl.cli;

import frl.backend.Backend;
import frl.backend.Backends;
import frl.data.DataCache;
import frl.data.ImageSet;
import frl.data.Sources;
import frl.io.AtomicFile;
import frl.model.ModelSpec;
import frl.ood.Regret;
import frl.ood.Scorer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * Writes per-image scores of a set to CSV: nll (nats), complexity L (bits), score = nll − r·L, and for a folder of
 * images each file's path; with --background the background model's NLL and the Likelihood Ratio, with --regret the
 * Likelihood Regret. A folder is read part by part (--read-chunk images at a time, the next part read while one is
 * scored), so its size is bounded by the disk, not the memory; the scores are the same for any part size.
 */
@Command(name = "score", mixinStandardHelpOptions = true, description = {"Score every image of a set with a model; write a CSV.",
        "The IWAE noise of image i is fixed by --seed, i and the set's size, so a score is repeatable, and the same whichever part of a folder it was read in."})
final class ScoreCommand implements Callable<Integer> {
    static final String HEADER = "index,file,nll_nats,complexity_bits,score\n";

    @Option(names = "--model", required = true, description = "Checkpoint to score with.") Path model;
    @Option(names = "--data", required = true, description = "Set to score (see `frl data list`, or a path).") String data;
    @Option(names = "-k", defaultValue = "20", description = "IWAE importance samples. Default: ${DEFAULT-VALUE}.") int k;
    @Option(names = "-r", defaultValue = "1", description = "Weight of the complexity term. Default: ${DEFAULT-VALUE}.") double r;
    @Option(names = "--read-chunk", defaultValue = "4096", description = "Images of a folder read and scored at a time. Default: ${DEFAULT-VALUE}.") int readChunk;
    @Option(names = "--background", description = "A model of --model's kind trained with --perturb: adds the columns nll_background_nats and ratio (nll − nll_background).") Path background;
    @Option(names = "--regret", description = "Adds the column regret (Likelihood Regret: each image fits a copy of the encoder, --regret-steps Adam steps; about 100× the cost of its nll).") boolean regret;
    @Option(names = "--regret-steps", defaultValue = "100", description = "Adam steps per image for --regret. Default: ${DEFAULT-VALUE}, as the reference.") int regretSteps;
    @Option(names = "--shard", paramLabel = "K/N", description = "Score only the K-th of N equal runs of the set's images (1 ≤ K ≤ N), their rows numbered and their noise drawn as in the whole set's run: N runs (one per GPU or machine) give the whole's rows, concatenated in K's order (without their headers).") String shard;
    @Option(names = "--threshold", description = "Adds the column ood: true where the score is above this threshold (frl eval's report gives the one that accepts 95% of its in-distribution images).") Double threshold;
    @Option(names = "--out", required = true, description = "CSV file (written atomically).") Path out;
    @Mixin RunOptions run;
    @Mixin ScoreGraphOption scoreGraph;

    @Override public Integer call() throws Exception {
        if (k < 1) throw new IllegalArgumentException("-k must be ≥ 1 importance sample, got " + k);
        if (java.nio.file.Files.isDirectory(out)) throw new IllegalArgumentException("--out " + out + " is a folder; give a file name for the CSV");
        if (readChunk < 1) throw new IllegalArgumentException("--read-chunk must be ≥ 1 image, got " + readChunk);
        if (threshold != null && !Double.isFinite(threshold)) throw new IllegalArgumentException("--threshold must be a finite score, got " + threshold);
        Shard part = Shard.parse(shard);
        Regret.Config fit = regret ? Regret.Config.reference().withSteps(regretSteps) : null;
        Backend be = Backends.select(run.device);
        try (ModelSpec.Loaded m = ModelSpec.load(be, model); ModelSpec.Loaded b = background == null ? null : ModelSpec.load(be, background)) {
            EvalCommand.requireBackgroundOf(b, background, m, "--model " + model);
            Sources sources = new Sources(DataCache.fromEnvironment(System.err::println), run.seed);
            boolean record = scoreGraph.records(be);
            Optional<Sources.Folder> folder = sources.imageFolder(data);
            // a folder of several parts keeps its recorded passes from part to part (freed with the columns)
            boolean keep = folder.isPresent() && part.size(folder.get().files().size()) > readChunk;
            try (Columns columns = new Columns(EvalCommand.scorer(be, m, k, record).keepGraphs(keep),
                    b == null ? null : EvalCommand.scorer(be, b, k, record).keepGraphs(keep), fit, run.seed)) {
                int channels = m.spec().imageChannels();
                long written, start = System.nanoTime();
                long total;
                if (folder.isPresent()) {
                    total = folder.get().files().size();
                    written = scoreFolder(columns, channels, folder.get(), part);
                } else {
                    ImageSet whole = sources.load(data, channels);
                    if (whole.size() == 0) throw new IllegalArgumentException("data set '" + data + "' holds no images");
                    total = whole.size();
                    int from = (int) part.first(total);
                    ImageSet set = whole.slice(from, from + (int) part.size(total));
                    StringBuilder csv = new StringBuilder(header(columns));
                    appendRows(csv, from, null, columns.of(set, Scorer.complexity(set), from, total, done -> Console.status("scoring " + whole.name() + ": " + done, false)));
                    Console.status("scored " + whole.name() + ": " + set.size() + " images", true);
                    AtomicFile.writeString(out, csv.toString());
                    written = set.size();
                }
                double seconds = (System.nanoTime() - start) / 1e9;   // reading, scoring and writing, the model loaded
                String which = shard == null ? "" : written == 0 ? " (shard " + shard + ": none of the " + total + " images)"
                        : String.format(Locale.ROOT, " (shard %s: images %d..%d of %d)", shard, part.first(total), part.first(total) + written - 1, total);
                System.out.printf(Locale.ROOT, "wrote %d scores%s to %s in %.1f s (%.0f img/s)%n", written, which, out, seconds, written / seconds);
            }
        }
        return 0;
    }

    /**
     * The shard's files of the folder, --read-chunk at a time (the next part read while one is scored), each part's rows
     * appended to the (atomically written) CSV, numbered as in the whole folder.
     */
    private long scoreFolder(Columns columns, int channels, Sources.Folder folder, Shard shard) throws IOException {
        List<Path> all = folder.files();
        if (all.isEmpty()) throw new IllegalArgumentException("data set '" + data + "' holds no PNG or JPEG images");
        Path root = folder.dir();
        int total = all.size(), base = (int) shard.first(total);
        List<Path> files = all.subList(base, base + (int) shard.size(total));
        AtomicFile.write(out, ch -> {
            write(ch, header(columns));
            CompletableFuture<Part> next = files.isEmpty() ? null : readPart(root, files, 0, channels);
            for (int first = 0; first < files.size(); first += readChunk) {
                Part read = joined(next);
                ImageSet set = read.set();
                next = first + readChunk < files.size() ? readPart(root, files, first + readChunk, channels) : null;   // read while this part is scored
                int from = base + first;
                double[][] scores = columns.of(set, read.complexity(), from, total, done -> Console.status("scoring " + root + ", images " + from + "–" + (from + set.size()) + " of " + total + ": " + done, false));
                Console.status("scoring " + root + ": " + (first + set.size()) + "/" + files.size(), first + set.size() == files.size());
                StringBuilder rows = new StringBuilder();
                appendRows(rows, from, read.files().stream().map(f -> root.relativize(f).toString()).toList(), scores);
                write(ch, rows.toString());
            }
        });
        return files.size();
    }

    /** The K-th of N equal runs of a set's images (--shard K/N), or the whole set. */
    record Shard(int k, int n) {
        static Shard parse(String spec) {
            if (spec == null) return new Shard(1, 1);
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("(\\d{1,9})/(\\d{1,9})").matcher(spec.strip());
            if (!m.matches() || Integer.parseInt(m.group(1)) < 1 || Integer.parseInt(m.group(1)) > Integer.parseInt(m.group(2)))
                throw new IllegalArgumentException("--shard " + spec + ": expected K/N with 1 ≤ K ≤ N (the K-th of N runs), such as 3/8");
            return new Shard(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)));
        }

        /** The first image of this run of a set of total images: runs differ in size by at most one. */
        long first(long total) { return total * (k - 1) / n; }

        long size(long total) { return total * k / n - first(total); }
    }

    /** A part of a folder: its files, read, with their images' complexity. */
    private record Part(List<Path> files, ImageSet set, double[] complexity) {}

    /** The folder's --read-chunk files from {@code first} on, read (decoded on all cores) and their complexity taken, in the background. */
    private CompletableFuture<Part> readPart(Path root, List<Path> files, int first, int channels) {
        List<Path> part = files.subList(first, Math.min(files.size(), first + readChunk));
        return CompletableFuture.supplyAsync(() -> {
            ImageSet set = Sources.loadFiles(root.toString(), part, channels);
            return new Part(part, set, Scorer.complexity(set));
        });
    }

    /** The part once read; a failure to read it as its own exception (a bad file's name and what was expected). */
    private static Part joined(CompletableFuture<Part> part) {
        try {
            return part.join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof RuntimeException r) throw r;
            if (e.getCause() instanceof Error r) throw r;
            throw e;
        }
    }

    /** The scorers of the CSV's columns: the model's, and where asked, the background's and the regret's. */
    private record Columns(Scorer model, Scorer background, Regret.Config fit, long seed) implements AutoCloseable {
        @Override public void close() {
            try {
                model.close();
            } finally {
                if (background != null) background.close();
            }
        }

        String header() {
            return HEADER.stripTrailing() + (background != null ? ",nll_background_nats,ratio" : "") + (fit != null ? ",regret" : "") + "\n";
        }

        /** Per image: nll, the given L, then the background's NLL and the regret where asked; {@code done} hears each part's progress. */
        double[][] of(ImageSet set, double[] complexity, long first, long total, java.util.function.Consumer<String> done) {
            double[] nll = model.nll(set, seed, first, total, d -> done.accept("nll " + d + "/" + set.size()));
            double[] bg = background == null ? null : background.nll(set, seed, first, total, d -> done.accept("background " + d + "/" + set.size()));
            double[] regret = fit == null ? null : new Regret(model, fit).regret(set, seed, first, total, nll, d -> done.accept("regret " + d + "/" + set.size()));
            return new double[][] {nll, complexity, bg, regret};
        }
    }

    /** The CSV's header: the columns', then ood where a threshold is given. */
    private String header(Columns columns) { return columns.header().stripTrailing() + (threshold != null ? ",ood" : "") + "\n"; }

    private void appendRows(StringBuilder csv, long first, List<String> names, double[][] scores) {
        double[] nll = scores[0], l = scores[1], bg = scores[2], regret = scores[3];
        for (int i = 0; i < nll.length; i++) {
            csv.append(String.format(Locale.ROOT, "%d,%s,%.4f,%.0f,%.4f", first + i, names == null ? "" : csvField(names.get(i)), nll[i], l[i], nll[i] - r * l[i]));
            if (bg != null) csv.append(String.format(Locale.ROOT, ",%.4f,%.4f", bg[i], nll[i] - bg[i]));
            if (regret != null) csv.append(String.format(Locale.ROOT, ",%.4f", regret[i]));
            if (threshold != null) csv.append(nll[i] - r * l[i] > threshold ? ",true" : ",false");
            csv.append('\n');
        }
    }

    /** A CSV field (RFC 4180): quoted, its quotes doubled, where it holds a comma, a quote or a line break. */
    static String csvField(String s) {
        return s.matches("[^,\"\r\n]*") ? s : "\"" + s.replace("\"", "\"\"") + "\"";
    }

    private static void write(FileChannel ch, String text) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8));
        while (b.hasRemaining()) ch.write(b);
    }
}
