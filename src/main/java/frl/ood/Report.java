package frl.ood;

import frl.io.AtomicFile;
import frl.io.Json;

import javax.imageio.ImageIO;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Writes an evaluation to a folder: report.md (the AUROC table and all metrics), report.json
 * ({@code results: [{ood, score, auroc, aupr_in, aupr_out, fpr95, n_in, n_ood}]}, timing), and PNG plots:
 * roc-SET.png (one curve per score) and hist-SET-SCORE.png (in-distribution vs that set). Every file is
 * written atomically.
 */
public final class Report {
    private static final Color[] PALETTE = {new Color(0x1f77b4), new Color(0xd62728), new Color(0x2ca02c), new Color(0xff7f0e), new Color(0x9467bd)};

    private Report() {}

    public static void write(Path dir, Evaluation.Outcome o, Map<String, String> about) throws IOException {
        Files.createDirectories(dir);
        Map<String, Double> thresholds = thresholds(o);
        AtomicFile.writeString(dir.resolve("report.md"), markdown(o, about, thresholds));
        AtomicFile.writeString(dir.resolve("report.json"), json(o, about, thresholds));
        Map<String, double[]> in = o.sets().get(0).scores();
        for (Evaluation.SetScores set : o.sets().subList(1, o.sets().size())) {
            AtomicFile.write(dir.resolve("roc-" + fileName(set.set()) + ".png"), png(roc(set, in)));
            for (var e : set.scores().entrySet())
                AtomicFile.write(dir.resolve("hist-" + fileName(set.set()) + "-" + e.getKey() + ".png"),
                        png(histogram(o.inDistribution(), in.get(e.getKey()), set.set(), e.getValue(), e.getKey())));
        }
    }

    /** The AUROC table: one row per OOD set, one column per score, and the mean row. */
    public static String aurocTable(Evaluation.Outcome o) {
        List<String> scores = new ArrayList<>(), sets = new ArrayList<>();
        Map<String, Evaluation.Result> byKey = new LinkedHashMap<>();
        for (Evaluation.Result r : o.results()) {
            if (!scores.contains(r.score())) scores.add(r.score());
            if (!sets.contains(r.ood())) sets.add(r.ood());
            byKey.put(r.ood() + "|" + r.score(), r);
        }
        StringBuilder sb = new StringBuilder("| OOD set (n_in / n_ood) |");
        scores.forEach(s -> sb.append(' ').append(s).append(" |"));
        sb.append("\n|---|").append("---|".repeat(scores.size())).append('\n');
        double[] mean = new double[scores.size()];
        for (String set : sets) {
            Evaluation.Result any = byKey.get(set + "|" + scores.get(0));
            sb.append("| ").append(set).append(" (").append(any.inCount()).append(" / ").append(any.oodCount()).append(") |");
            for (int i = 0; i < scores.size(); i++) {
                double a = byKey.get(set + "|" + scores.get(i)).metrics().auroc();
                mean[i] += a / sets.size();
                sb.append(String.format(Locale.ROOT, " %.3f |", a));
            }
            sb.append('\n');
        }
        sb.append("| mean |");
        for (double m : mean) sb.append(String.format(Locale.ROOT, " %.3f |", m));
        return sb.append('\n').toString();
    }

    private static String markdown(Evaluation.Outcome o, Map<String, String> about, Map<String, Double> thresholds) {
        StringBuilder sb = new StringBuilder("# frl-engine OOD report\n\n");
        about.forEach((k, v) -> sb.append("- ").append(k).append(": ").append(v).append('\n'));
        sb.append("- in-distribution: ").append(o.inDistribution()).append("\n\n## AUROC (OOD positive, higher score = more OOD)\n\n");
        sb.append(aurocTable(o)).append("\n## All metrics\n\n| OOD set | score | AUROC | AUPR-in | AUPR-out | FPR@95%TPR |\n|---|---|---|---|---|---|\n");
        for (Evaluation.Result r : o.results()) {
            Metrics.Summary m = r.metrics();
            sb.append(String.format(Locale.ROOT, "| %s | %s | %.4f | %.4f | %.4f | %.4f |%n", r.ood(), r.score(), m.auroc(), m.auprIn(), m.auprOut(), m.fpr95()));
        }
        sb.append("\n## Thresholds that accept 95% of the in-distribution images (Detector.setThreshold takes them)\n\n");
        thresholds.forEach((k, v) -> sb.append(String.format(Locale.ROOT, "- %s: %.4f%n", k, v)));
        sb.append("\n## Scoring speed (images/s, this machine)\n\n");
        o.imagesPerSecond().forEach((k, v) -> sb.append(String.format(Locale.ROOT, "- %s: %.2f%n", k, v)));
        return sb.toString();
    }

    /** Per score, the threshold that accepts 95% of the in-distribution images (the first set's). */
    static Map<String, Double> thresholds(Evaluation.Outcome o) {
        Map<String, Double> t = new LinkedHashMap<>();
        Map<String, double[]> in = o.sets().getFirst().scores();
        for (Evaluation.Result r : o.results()) t.computeIfAbsent(r.score(), name -> Metrics.threshold(in.get(name), 0.95));
        return t;
    }

    private static String json(Evaluation.Outcome o, Map<String, String> about, Map<String, Double> thresholds) {
        List<Object> results = new ArrayList<>();
        for (Evaluation.Result r : o.results()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("ood", r.ood());
            m.put("score", r.score());
            m.put("auroc", r.metrics().auroc());
            m.put("aupr_in", r.metrics().auprIn());
            m.put("aupr_out", r.metrics().auprOut());
            m.put("fpr95", r.metrics().fpr95());
            m.put("n_in", r.inCount());
            m.put("n_ood", r.oodCount());
            results.add(m);
        }
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("in_distribution", o.inDistribution());
        root.put("about", new LinkedHashMap<>(about));
        root.put("results", results);
        root.put("thresholds_tpr95", new LinkedHashMap<>(thresholds));
        root.put("timing_images_per_second", new LinkedHashMap<>(o.imagesPerSecond()));
        return Json.write(root) + "\n";
    }

    private static String fileName(String s) { return s.replaceAll("[^A-Za-z0-9._-]", "_"); }

    private static byte[] png(BufferedImage img) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(img, "png", out);
        return out.toByteArray();
    }

    private static final int W = 480, H = 360, L = 60, R = 20, T = 30, B = 50;

    private static Graphics2D canvas(BufferedImage img, String title, String xLabel, String yLabel) {
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, W, H);
        g.setColor(Color.BLACK);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        g.drawRect(L, T, W - L - R, H - T - B);
        g.drawString(title, L, T - 10);
        g.drawString(xLabel, L + (W - L - R) / 2 - 20, H - 15);
        g.drawString(yLabel, 5, T + (H - T - B) / 2);
        return g;
    }

    private static int px(double x) { return L + (int) Math.round(x * (W - L - R)); }

    private static int py(double y) { return H - B - (int) Math.round(y * (H - T - B)); }

    private static BufferedImage roc(Evaluation.SetScores set, Map<String, double[]> in) {
        BufferedImage img = new BufferedImage(W, H, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = canvas(img, "ROC: " + set.set() + " (OOD positive)", "FPR", "TPR");
        g.setColor(Color.LIGHT_GRAY);
        g.drawLine(px(0), py(0), px(1), py(1));
        int i = 0;
        g.setStroke(new BasicStroke(2f));
        for (var e : set.scores().entrySet()) {
            double[][] c = Metrics.rocCurve(in.get(e.getKey()), e.getValue());
            g.setColor(PALETTE[i % PALETTE.length]);
            for (int k = 1; k < c[0].length; k++) g.drawLine(px(c[0][k - 1]), py(c[1][k - 1]), px(c[0][k]), py(c[1][k]));
            g.drawString(String.format(Locale.ROOT, "%s (AUROC %.3f)", e.getKey(), Metrics.auroc(in.get(e.getKey()), e.getValue())), px(0.45), py(0.05 + 0.07 * i++));
        }
        g.dispose();
        return img;
    }

    private static BufferedImage histogram(String inName, double[] in, String oodName, double[] ood, String score) {
        double lo = Double.POSITIVE_INFINITY, hi = Double.NEGATIVE_INFINITY;
        for (double v : in) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
        for (double v : ood) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
        if (hi <= lo) hi = lo + 1;
        int bins = 40;
        double[][] h = {counts(in, lo, hi, bins), counts(ood, lo, hi, bins)};
        double max = 0;
        for (double[] row : h) for (double v : row) max = Math.max(max, v);
        BufferedImage img = new BufferedImage(W, H, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = canvas(img, score + ": " + inName + " vs " + oodName,
                String.format(Locale.ROOT, "%s from %.4g to %.4g", score, lo, hi), "share");
        for (int s = 0; s < 2; s++) {
            Color c = PALETTE[s];
            g.setColor(new Color(c.getRed(), c.getGreen(), c.getBlue(), 110));
            for (int b = 0; b < bins; b++) {
                int x0 = px(b / (double) bins), x1 = px((b + 1) / (double) bins), y = py(h[s][b] / max);
                g.fillRect(x0, y, Math.max(1, x1 - x0), py(0) - y);
            }
            g.setColor(c);
            g.drawString(s == 0 ? inName + " (in)" : oodName, px(0.7), py(0.95 - 0.07 * s));
        }
        g.dispose();
        return img;
    }

    private static double[] counts(double[] v, double lo, double hi, int bins) {
        double[] c = new double[bins];
        for (double x : v) c[Math.min(bins - 1, (int) ((x - lo) / (hi - lo) * bins))] += 1.0 / v.length;
        return c;
    }
}
