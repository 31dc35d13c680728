package frl.backend.cuda;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every {@code new Kernel(family, name, signature)} in the CUDA backend against the {@code extern "C"} kernel of
 * src/main/cuda/{family}.cu it launches: the kernel exists and its parameters are, in order, the kinds the signature
 * spells. A launch only checks Java's arguments against the signature; this checks the signature against the kernel,
 * which no machine without a GPU would otherwise do. Reads the sources (run from the project root, as Maven does).
 */
class KernelSignaturesTest {
    /** A kernel's declaration once any __launch_bounds__(…) is taken out; a name K##… is a macro's templated family. */
    private static final Pattern KERNEL = Pattern.compile("extern \"C\" __global__ void\\s+(\\w+)(?:##\\w+)?\\s*\\(([^)]*)\\)");
    private static final Pattern BOUNDS = Pattern.compile("__launch_bounds__\\((?:[^()]|\\([^()]*\\))*\\)");
    private static final Pattern LAUNCHER = Pattern.compile("new Kernel\\((\\w+|\"\\w+\"), \"(\\w+)\"( \\+ \\w+)?, \"(\\w*)\"\\)");
    private static final Pattern FAMILY = Pattern.compile("String FAMILY = \"(\\w+)\";");

    /** A kernel's parameters as Kernel's letters: p pointer, i int, l long long, f float, d double, a FrlInts (or HfTaps, its size), t FrlTable. */
    static String letters(String kernel, String params) {
        StringBuilder out = new StringBuilder();
        for (String p : params.split(",")) {
            String t = p.replace("__grid_constant__", "").trim().replaceAll("\\s+", " ");
            if (t.isEmpty()) continue;
            String v = t.startsWith("const ") && !t.contains("*") ? t.substring(6) : t;   // a by-value parameter, const or not
            out.append(t.contains("*") ? 'p' : v.startsWith("long long ") ? 'l' : v.startsWith("int ") ? 'i' : v.startsWith("float ") ? 'f'
                    : v.startsWith("double ") ? 'd' : v.startsWith("FrlInts ") || v.startsWith("HfTaps ") ? 'a' : v.startsWith("FrlTable ") ? 't' : '?');
            assertTrue(out.charAt(out.length() - 1) != '?', kernel + ": parameter '" + t + "' has no Kernel letter");
        }
        return out.toString();
    }

    /** Kernel name → its letters, over every .cu of src/main/cuda, keyed "family/name". */
    private static Map<String, String> kernels() throws IOException {
        Map<String, String> out = new HashMap<>();
        try (Stream<Path> files = Files.list(Path.of("src/main/cuda"))) {
            for (Path f : files.filter(p -> p.toString().endsWith(".cu")).toList()) {
                String family = f.getFileName().toString().replace(".cu", "");
                String src = Files.readString(f).replace("\\\n", " "); // a macro's lines joined
                Matcher m = KERNEL.matcher(BOUNDS.matcher(src).replaceAll(""));
                while (m.find()) out.put(family + "/" + m.group(1), letters(m.group(1), m.group(2)));
            }
        }
        return out;
    }

    /** (family, name, signature, prefix?) of every launcher in the CUDA backend's sources. */
    private static List<String[]> launchers() throws IOException {
        List<String[]> out = new ArrayList<>();
        try (Stream<Path> files = Files.list(Path.of("src/main/java/frl/backend/cuda"))) {
            for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                String src = Files.readString(f);
                Matcher fam = FAMILY.matcher(src);
                String family = fam.find() ? fam.group(1) : null;
                Matcher m = LAUNCHER.matcher(src);
                while (m.find()) {
                    String fa = m.group(1).startsWith("\"") ? m.group(1).replace("\"", "") : family;
                    assertTrue(fa != null, f + ": family " + m.group(1) + " not found");
                    out.add(new String[] {fa, m.group(2), m.group(4), m.group(3) == null ? "" : "prefix"});
                }
            }
        }
        return out;
    }

    @Test void everyLauncherMatchesItsKernelsParameters() throws IOException {
        Map<String, String> kernels = kernels();
        List<String[]> launchers = launchers();
        assertTrue(launchers.size() >= 50, "found only " + launchers.size() + " launchers");
        for (String[] l : launchers) {
            String key = l[0] + "/" + l[1];
            if (l[3].isEmpty()) {
                assertTrue(kernels.containsKey(key), "no kernel " + key + " in src/main/cuda/" + l[0] + ".cu");
                assertEquals(kernels.get(key), l[2], key + ": the launcher's signature against the kernel's parameters");
            } else { // a family of templated kernels named prefix + k
                List<String> matched = kernels.keySet().stream().filter(k -> k.startsWith(key)).toList();
                assertTrue(!matched.isEmpty(), "no kernel named " + key + "… in src/main/cuda/" + l[0] + ".cu");
                for (String k : matched) assertEquals(kernels.get(k), l[2], k + ": the launcher's signature against the kernel's parameters");
            }
        }
    }

    @Test void readsKernelParametersAsKernelsLetters() {
        assertEquals("ppilfda", letters("k", "const float* __restrict__ x, float* y, int n, long long at, float s, double d, FrlInts shape"));
        assertEquals("pia", letters("k", "const float* x, const int n, const __grid_constant__ FrlInts rows"));
    }
}
