package io.tune4j.bench.load;

import java.util.ArrayList;
import java.util.List;

/**
 * Every round's run at one client count. Throughput is the median over rounds (rounds alternate
 * client counts, so a change in the machine's background load reaches all of them alike);
 * latency percentiles pool the requests of all rounds.
 */
final class ClientCountResult {
    final int clients;
    final List<ScenarioResult> rounds = new ArrayList<>();

    ClientCountResult(int clients) {
        this.clients = clients;
    }

    double[] tokensPerSecond() {
        return rounds.stream().mapToDouble(ScenarioResult::tokensPerSecond).toArray();
    }

    double medianTokensPerSecond() {
        return Percentiles.median(tokensPerSecond());
    }

    double medianServerCpuMillisPerToken() {
        return Percentiles.median(rounds.stream().mapToDouble(ScenarioResult::serverCpuMillisPerToken).toArray());
    }

    int requests() {
        return rounds.stream().mapToInt(r -> r.samples().size()).sum();
    }

    long tokens() {
        return rounds.stream().mapToLong(ScenarioResult::tokens).sum();
    }

    Percentiles timeToFirstToken() {
        List<Long> v = new ArrayList<>();
        for (ScenarioResult r : rounds) for (RequestSample s : r.samples()) v.add(s.timeToFirstTokenNanos());
        return new Percentiles(v.stream().mapToLong(Long::longValue).toArray());
    }

    Percentiles interToken() {
        List<Long> v = new ArrayList<>();
        for (ScenarioResult r : rounds) for (RequestSample s : r.samples()) for (long g : s.interTokenNanos()) v.add(g);
        return new Percentiles(v.stream().mapToLong(Long::longValue).toArray());
    }
}
