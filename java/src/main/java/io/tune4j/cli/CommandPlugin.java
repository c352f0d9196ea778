package io.tune4j.cli;

import java.util.ServiceLoader;

/**
 * A subcommand contributed by a module that depends on the core (e.g. `serve` from tune4j-server):
 * the core cannot name it without a dependency cycle, so {@link Main} finds it with
 * {@link ServiceLoader} when that module is on the classpath.
 */
public interface CommandPlugin {
    /** The subcommand's name. */
    String name();

    /** A picocli command object (annotated with {@code @Command}). */
    Object command();
}
