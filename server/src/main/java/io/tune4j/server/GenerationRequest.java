package io.tune4j.server;

import io.tune4j.data.Message;
import io.tune4j.generate.GenerationConfig;
import io.tune4j.ops.SamplingParams;
import io.tune4j.tokenizer.Tokenizer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * A generation request as HTTP or gRPC stated it, before any check; null means "not given". Each
 * transport only parses its wire format into this, so limits, defaults and error messages are
 * the same whichever way a client calls.
 *
 * @param messages chat turns, or null for a plain prompt
 */
record GenerationRequest(String model, String prompt, List<Turn> messages, Integer maxTokens, Double temperature,
                         Double topP, Integer topK, Long seed, List<String> stop, boolean ignoreEos) {
    /** The roles a chat turn may have; developer is OpenAI's newer name for system. */
    static final List<String> ROLES = List.of("system", "user", "assistant", "developer", "tool");
    static final int MAX_STOP = 4;

    record Turn(String role, String content) {}

    /** What the endpoint takes: a prompt, messages, or (gRPC) exactly one of the two. */
    enum Shape { PROMPT, MESSAGES, EITHER }

    /** A request that passed every check, ready for the scheduler. */
    record Checked(String model, Path adapterDir, Function<Tokenizer, int[]> encoder, GenerationConfig config) {
        Scheduler.Job toJob(Scheduler.Sink sink, ServerOptions o) {
            return new Scheduler.Job(model, adapterDir, encoder, config, sink, TimeUnit.MILLISECONDS.toNanos(o.requestTimeoutMillis));
        }
    }

    /**
     * Checks every field against the server's limits and fills the defaults.
     *
     * @param modelsHint where the client can list the models, for the not-found message
     * @throws ApiException naming the first field that is wrong and what was expected
     */
    Checked check(Services s, Shape shape, String modelsHint) {
        String name = model == null || model.isEmpty() ? s.modelId() : model;
        Path adapterDir = null;
        if (!name.equals(s.modelId())) {
            adapterDir = s.adapters().get(name);
            if (adapterDir == null) {
                throw ApiException.notFound("model_not_found", "the model '" + name + "' does not exist; " + modelsHint + " lists them");
            }
        }
        int cap = s.options().maxTokensCap;
        int max = cap;
        if (maxTokens != null) {
            if (maxTokens < 1) throw ApiException.badRequest("max_tokens", "max_tokens must be >= 1, got " + maxTokens);
            if (maxTokens > cap) {
                throw ApiException.badRequest("max_tokens", "max_tokens is " + maxTokens + " but this server allows at most " + cap);
            }
            max = maxTokens;
        }
        double t = temperature == null ? 1 : temperature;
        if (!(t >= 0 && t <= 2)) throw ApiException.badRequest("temperature", "temperature must be between 0 and 2, got " + t);
        double p = topP == null ? 1 : topP;
        if (!(p > 0 && p <= 1)) throw ApiException.badRequest("top_p", "top_p must be in (0, 1], got " + p);
        // 0 and -1 both mean no limit: OpenAI-style clients send -1 (vLLM's convention), llama.cpp's send 0
        int k = topK == null ? 0 : topK;
        if (k < -1) throw ApiException.badRequest("top_k", "top_k must be >= 1, or 0 or -1 for no limit, got " + k);
        k = Math.max(k, 0);
        long seedValue = seed != null ? seed : ThreadLocalRandom.current().nextLong();
        List<String> stops = new ArrayList<>(stop == null ? List.of() : stop);
        if (stops.size() > MAX_STOP) throw ApiException.badRequest("stop", "at most " + MAX_STOP + " stop strings, got " + stops.size());
        if (stops.stream().anyMatch(x -> x == null || x.isEmpty())) throw ApiException.badRequest("stop", "stop strings must not be empty");

        boolean chat = messages != null && !messages.isEmpty();
        switch (shape) {
            case PROMPT -> {
                if (prompt == null) throw ApiException.badRequest("prompt", "prompt must be a string (or a list holding one string)");
            }
            case MESSAGES -> {
                if (!chat) throw ApiException.badRequest("messages", "messages must be a non-empty list");
            }
            case EITHER -> {
                if (chat == (prompt != null && !prompt.isEmpty())) {
                    throw ApiException.badRequest("prompt", "give exactly one of prompt and messages");
                }
            }
        }
        Function<Tokenizer, int[]> encoder;
        if (chat) {
            List<Message> turns = turns(messages);
            ChatPrompt cp = s.chat();
            if (cp.isChatMl()) stops.add(ChatPrompt.CHATML_END);
            encoder = tok -> ChatPrompt.encode(tok, cp.render(turns));
        } else {
            String text = prompt;
            encoder = tok -> tok.encode(text, true);
        }
        GenerationConfig cfg = new GenerationConfig(max, new SamplingParams((float) t, k, (float) p, 1f), seedValue, stops, !ignoreEos);
        return new Checked(name, adapterDir, encoder, cfg);
    }

    private static List<Message> turns(List<Turn> in) {
        List<Message> out = new ArrayList<>(in.size());
        for (int i = 0; i < in.size(); i++) {
            String role = in.get(i).role() == null ? "" : in.get(i).role();
            if (!ROLES.contains(role)) {
                throw ApiException.badRequest("messages", "messages[" + i + "].role must be " + String.join(", ", ROLES.subList(0, 4))
                        + " or " + ROLES.get(4) + ", got '" + role + "'");
            }
            out.add(new Message(role.equals("developer") ? "system" : role, in.get(i).content() == null ? "" : in.get(i).content()));
        }
        return out;
    }
}
