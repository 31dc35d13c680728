package frl.data;

import java.awt.Color;
import java.awt.Font;
import java.awt.FontFormatException;
import java.awt.GraphicsEnvironment;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.font.FontRenderContext;
import java.awt.font.GlyphVector;
import java.awt.geom.AffineTransform;
import java.awt.geom.Rectangle2D;
import java.awt.image.BufferedImage;
import java.awt.image.DataBufferByte;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.stream.Stream;

/**
 * A notMNIST-like OOD set drawn with the machine's fonts. Apart from {@link Synthetic} because it needs AWT
 * (java.desktop), which a minimal runtime (the GPU machine's) may lack.
 */
public final class Letters {
    public static final String LETTERS = "ABCDEFGHIJ";
    private static final Path FONT_DIR = Path.of("/usr/share/fonts");

    private Letters() {}

    /**
     * notMNIST-like letters: A–J in every font, white on black, 28×28 gray, antialiased, the glyph's ink
     * box scaled to a random height of 18–24 px (aspect kept, never wider than 26 px) and centred. Labels
     * are 0..9 for A..J. The images come in a random order drawn from the seed, so that the first N (letters@N)
     * are a sample over all the fonts.
     */
    public static ImageSet render(List<Font> fonts, long seed) {
        if (fonts.isEmpty()) throw new IllegalArgumentException("letters: no fonts to render with");
        SplittableRandom rng = new SplittableRandom(seed);
        int side = 28, n = fonts.size() * LETTERS.length();
        byte[] px = new byte[n * side * side];
        int[] labels = new int[n], order = Permutation.of(n, new SplittableRandom(~seed)::nextInt);   // apart from the sizes' draws
        BufferedImage img = new BufferedImage(side, side, BufferedImage.TYPE_BYTE_GRAY);
        int i = 0;
        for (Font font : fonts)
            for (int l = 0; l < LETTERS.length(); l++, i++) {
                render(img, font, LETTERS.charAt(l), 18 + rng.nextInt(7), 26);
                byte[] drawn = ((DataBufferByte) img.getRaster().getDataBuffer()).getData();
                int at = order[i];
                System.arraycopy(drawn, 0, px, at * side * side, side * side);
                labels[at] = l;
            }
        return new ImageSet("letters", n, 1, side, side, px, labels);
    }

    private static void render(BufferedImage img, Font font, char letter, double height, double maxWidth) {
        Graphics2D g = img.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_STROKE_CONTROL, RenderingHints.VALUE_STROKE_PURE);
            g.setColor(Color.BLACK);
            g.fillRect(0, 0, img.getWidth(), img.getHeight());
            FontRenderContext frc = g.getFontRenderContext();
            GlyphVector gv = font.deriveFont(100f).createGlyphVector(frc, String.valueOf(letter));
            Rectangle2D ink = gv.getVisualBounds();
            double s = Math.min(height / ink.getHeight(), maxWidth / ink.getWidth());
            AffineTransform t = new AffineTransform();
            t.translate(img.getWidth() / 2.0, img.getHeight() / 2.0);
            t.scale(s, s);
            t.translate(-ink.getCenterX(), -ink.getCenterY());
            g.setColor(Color.WHITE);
            g.fill(t.createTransformedShape(gv.getOutline()));
        } finally {
            g.dispose();
        }
    }

    /**
     * The machine's fonts that draw all of A–J with visible ink: the .ttf/.otf files under /usr/share/fonts
     * in path order, or, when there are none, the fonts Java itself knows (GraphicsEnvironment).
     */
    public static List<Font> fonts() {
        List<Font> fonts = new ArrayList<>();
        for (Path f : fontFiles()) {
            try {
                fonts.add(Font.createFont(Font.TRUETYPE_FONT, f.toFile()));
            } catch (FontFormatException | IOException e) {
                // not a TrueType outline font Java can load (e.g. CFF-flavoured .otf): skip it
            }
        }
        if (fonts.isEmpty()) fonts.addAll(List.of(GraphicsEnvironment.getLocalGraphicsEnvironment().getAllFonts()));
        return fonts.stream().filter(Letters::drawsLetters).toList();
    }

    private static List<Path> fontFiles() {
        if (!Files.isDirectory(FONT_DIR)) return List.of();
        try (Stream<Path> s = Files.walk(FONT_DIR)) {
            return s.filter(p -> {
                String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
                return n.endsWith(".ttf") || n.endsWith(".otf");
            }).sorted(Comparator.naturalOrder()).toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list fonts in " + FONT_DIR + ": " + e.getMessage(), e);
        }
    }

    private static boolean drawsLetters(Font font) {
        if (font.canDisplayUpTo(LETTERS) != -1) return false;
        FontRenderContext frc = new FontRenderContext(null, true, true);
        for (char c : LETTERS.toCharArray()) {
            Rectangle2D ink = font.deriveFont(100f).createGlyphVector(frc, String.valueOf(c)).getVisualBounds();
            if (ink.getWidth() < 1 || ink.getHeight() < 1) return false;
        }
        return true;
    }
}
