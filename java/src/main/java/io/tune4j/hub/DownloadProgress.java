package io.tune4j.hub;

import java.time.Duration;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reports the progress of one file download. {@link #advance} is called from the HTTP client's
 * threads, so implementations must be thread-safe.
 */
public interface DownloadProgress extends AutoCloseable {

    /** Bytes received since the last call. */
    void advance(long bytes);

    @Override
    void close();

    /** Creates the progress for one file. */
    @FunctionalInterface
    interface Factory {
        /**
         * @param label      what to show, e.g. "owner/name model.safetensors"
         * @param totalBytes expected size, or -1 when unknown
         * @param resumedAt  bytes already in the cache from an earlier, interrupted download
         */
        DownloadProgress start(String label, long totalBytes, long resumedAt);
    }

    /** A bar on stderr when attached to a terminal, otherwise one log line per file. */
    static Factory automatic() {
        return System.console() != null ? terminal() : log();
    }

    static Factory terminal() {
        return (label, total, resumedAt) -> {
            ProgressBar bar = new ProgressBarBuilder()
                    .setTaskName(label)
                    .setInitialMax(total < 0 ? -1 : total)
                    .setStyle(ProgressBarStyle.ASCII)
                    .setConsumer(new ConsoleProgressBarConsumer(System.err))
                    .setUnit("MiB", 1L << 20)
                    .showSpeed()
                    .setUpdateIntervalMillis(250)
                    // Resumed bytes count as done but not as speed, so the ETA stays honest.
                    .startsFrom(resumedAt, Duration.ZERO)
                    .build();
            return new DownloadProgress() {
                @Override
                public void advance(long bytes) {
                    bar.stepBy(bytes);
                }

                @Override
                public void close() {
                    bar.close();
                }
            };
        };
    }

    static Factory log() {
        Logger log = LoggerFactory.getLogger(HubClient.class);
        return (label, total, resumedAt) -> {
            log.info("downloading {}{}{}", label, total >= 0 ? " (" + humanBytes(total) + ")" : "",
                    resumedAt > 0 ? ", resuming at " + humanBytes(resumedAt) : "");
            return silent();
        };
    }

    static DownloadProgress silent() {
        return new DownloadProgress() {
            @Override
            public void advance(long bytes) {}

            @Override
            public void close() {}
        };
    }

    static String humanBytes(long n) {
        if (n < 1024) {
            return n + " B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        double v = n;
        int i = -1;
        while (v >= 1024 && i < units.length - 1) {
            v /= 1024;
            i++;
        }
        return String.format(java.util.Locale.ROOT, "%.1f %s", v, units[i]);
    }
}
