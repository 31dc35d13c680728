package frl.data;

import static org.junit.jupiter.api.Assertions.*;

import java.awt.Font;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

class LettersTest {
    @Test
    void lettersAreCentredWhiteGlyphsOnBlack() {
        List<Font> fonts = Letters.fonts();
        Assumptions.assumeFalse(fonts.isEmpty(), "no fonts on this machine that draw A-J");
        List<Font> two = fonts.subList(0, Math.min(2, fonts.size()));
        ImageSet s = Letters.render(two, 3);
        assertEquals(10 * two.size(), s.size());
        assertEquals(28, s.height());
        assertArrayEquals(s.image(4), Letters.render(two, 3).image(4), "same seed, same images");
        int[] perLetter = new int[10];
        for (int i = 0; i < s.size(); i++) perLetter[s.label(i)]++;
        for (int l = 0; l < 10; l++) assertEquals(two.size(), perLetter[l], "letter " + l + " once per font");
        for (int i = 0; i < s.size(); i++) {
            double mass = 0, cy = 0, cx = 0;
            int top = 28, bottom = -1, bright = 0;
            for (int y = 0; y < 28; y++)
                for (int x = 0; x < 28; x++) {
                    int v = s.pixel(i, 0, y, x);
                    mass += v;
                    cy += v * y;
                    cx += v * x;
                    if (v > 128) {
                        bright++;
                        top = Math.min(top, y);
                        bottom = Math.max(bottom, y);
                    }
                }
            assertTrue(bright > 15, "letter " + i + " has ink");
            assertEquals(0, s.pixel(i, 0, 0, 0), "background is black");
            assertEquals(13.5, cy / mass, 4.0, "letter " + i + " centred vertically");
            assertEquals(13.5, cx / mass, 4.0, "letter " + i + " centred horizontally");
            int height = bottom - top + 1;
            assertTrue(height >= 16 && height <= 26, "glyph height " + height + " within the 18-24 px box");
        }
    }

    @Test
    void theFirstImagesAreASampleOverAllFonts() {
        List<Font> fonts = Letters.fonts();
        Assumptions.assumeTrue(fonts.size() >= 4, "fewer than 4 fonts on this machine that draw A-J");
        List<Font> four = fonts.subList(0, 4);
        ImageSet all = Letters.render(four, 5);
        // each first-font image is one of the first 10 drawn; in a random order they spread over all 40 places
        ImageSet first = Letters.render(four.subList(0, 1), 5);
        int last = -1;
        for (int i = 0; i < first.size(); i++)
            for (int j = 0; j < all.size(); j++)
                if (java.util.Arrays.equals(first.image(i), all.image(j))) last = Math.max(last, j);
        assertTrue(last >= 10, "the first font's letters are not all at the front (the last at " + last + ")");
    }
}
