package frl.model;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class ModelSpecTest {
    private static final Path FILE = Path.of("m.safetensors");

    @Test void everyFamilyGoesThroughItsConfigMap() throws IOException {
        for (ModelSpec s : List.of(ModelSpec.of(1, 5, 32, 200), ModelSpec.glow(3, 0, 64, 8, 3), ModelSpec.pixelCnn(3, 5, 1, 32, 5)))
            assertEquals(s, ModelSpec.fromMap(FILE, s.toMap()));
        assertEquals(List.of("model", "image_size", "image_channels", "hf_kernel", "ngf", "nz"), List.copyOf(ModelSpec.of(1, 5, 32, 200).toMap().keySet()),
                "a VAE's config as checkpoints have always held it");
        assertEquals(Map.of("model", "pixelcnn", "image_size", "32", "image_channels", "3", "hf_kernel", "5", "resnets", "1", "filters", "32", "mixtures", "5"),
                ModelSpec.pixelCnn(3, 5, 1, 32, 5).toMap());
    }

    @Test void aConfigThatDescribesNoModelNamesTheFileAndWhatIsWrong() {
        Map<String, String> m = new LinkedHashMap<>(ModelSpec.glow(1, 5, 8, 2, 2).toMap());
        m.put("model", "flow");
        var e = assertThrows(IOException.class, () -> ModelSpec.fromMap(FILE, m));
        assertTrue(e.getMessage().contains("m.safetensors: model 'flow' is not supported (expected vae, glow or pixelcnn)"), e.getMessage());
        m.put("model", "glow");
        m.remove("depth");
        e = assertThrows(IOException.class, () -> ModelSpec.fromMap(FILE, m));
        assertTrue(e.getMessage().contains("lacks model fields (image_size, image_channels, hf_kernel, hidden, depth, levels)"), e.getMessage());
        m.put("depth", "2");
        m.put("levels", "6");
        e = assertThrows(IOException.class, () -> ModelSpec.fromMap(FILE, m));
        assertTrue(e.getMessage().contains("describes no model: Glow with 6 levels halves the image 6 times"), e.getMessage());
    }
}
