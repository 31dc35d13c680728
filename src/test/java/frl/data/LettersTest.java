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
        for (int i = 0; i < s.size(); i++) {
            assertEquals(i % 10, s.label(i));
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
}
