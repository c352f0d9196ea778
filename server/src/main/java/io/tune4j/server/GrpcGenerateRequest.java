package io.tune4j.server;

import io.tune4j.data.Message;
import io.tune4j.generate.GenerationConfig;
import io.tune4j.grpc.v1.ChatMessage;
import io.tune4j.grpc.v1.GenerateRequest;
import io.tune4j.ops.SamplingParams;
import io.tune4j.tokenizer.Tokenizer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * A checked {@link GenerateRequest}: the same limits and defaults as the HTTP completions endpoint,
 * failing with an {@link ApiException} that names the field (mapped to INVALID_ARGUMENT/NOT_FOUND).
 */
record GrpcGenerateRequest(String model, Path adapterDir, Function<Tokenizer, int[]> encoder, GenerationConfig config) {
    private static final Set<String> ROLES = Set.of("system", "user", "assistant", "developer", "tool");

    static GrpcGenerateRequest check(GenerateRequest r, Services s) {
        String model = r.getModel().isEmpty() ? s.modelId() : r.getModel();
        Path adapterDir = null;
        if (!model.equals(s.modelId())) {
            adapterDir = s.adapters().get(model);
            if (adapterDir == null) {
                throw ApiException.notFound("model_not_found", "the model '" + model + "' does not exist; ListModels lists them");
            }
        }
        int cap = s.options().maxTokensCap;
        int maxTokens = cap;
        if (r.hasMaxTokens()) {
            if (r.getMaxTokens() < 1) throw ApiException.badRequest("max_tokens", "max_tokens must be >= 1, got " + r.getMaxTokens());
            if (r.getMaxTokens() > cap) {
                throw ApiException.badRequest("max_tokens", "max_tokens is " + r.getMaxTokens() + " but this server allows at most " + cap);
            }
            maxTokens = r.getMaxTokens();
        }
        float temperature = r.hasTemperature() ? r.getTemperature() : 1f;
        if (!(temperature >= 0f && temperature <= 2f)) {
            throw ApiException.badRequest("temperature", "temperature must be between 0 and 2, got " + temperature);
        }
        float topP = r.hasTopP() ? r.getTopP() : 1f;
        if (!(topP > 0f && topP <= 1f)) throw ApiException.badRequest("top_p", "top_p must be in (0, 1], got " + topP);
        int topK = r.hasTopK() ? r.getTopK() : 0;
        if (topK < 0) throw ApiException.badRequest("top_k", "top_k must be >= 0, got " + topK);
        long seed = r.hasSeed() ? r.getSeed() : ThreadLocalRandom.current().nextLong();
        List<String> stop = new ArrayList<>(r.getStopList());
        if (stop.size() > 4) throw ApiException.badRequest("stop", "at most 4 stop strings, got " + stop.size());
        if (stop.stream().anyMatch(String::isEmpty)) throw ApiException.badRequest("stop", "stop strings must not be empty");

        boolean chat = r.getMessagesCount() > 0;
        if (chat == !r.getPrompt().isEmpty()) {
            throw ApiException.badRequest("prompt", "give exactly one of prompt and messages");
        }
        Function<Tokenizer, int[]> encoder;
        if (chat) {
            List<Message> messages = messages(r.getMessagesList());
            ChatPrompt cp = s.chat();
            if (cp.isChatMl()) stop.add(ChatPrompt.CHATML_END);
            encoder = tok -> ChatPrompt.encode(tok, cp.render(messages));
        } else {
            String prompt = r.getPrompt();
            encoder = tok -> tok.encode(prompt, true);
        }
        GenerationConfig cfg = new GenerationConfig(maxTokens, new SamplingParams(temperature, topK, topP, 1f), seed, stop,
                !r.getIgnoreEos());
        return new GrpcGenerateRequest(model, adapterDir, encoder, cfg);
    }

    Scheduler.Job toJob(Scheduler.Sink sink, ServerOptions o) {
        return new Scheduler.Job(model, adapterDir, encoder, config, sink, TimeUnit.MILLISECONDS.toNanos(o.requestTimeoutMillis));
    }

    private static List<Message> messages(List<ChatMessage> in) {
        List<Message> out = new ArrayList<>(in.size());
        for (int i = 0; i < in.size(); i++) {
            String role = in.get(i).getRole();
            if (!ROLES.contains(role)) {
                throw ApiException.badRequest("messages", "messages[" + i + "].role must be system, user, assistant, developer "
                        + "or tool, got '" + role + "'");
            }
            out.add(new Message(role.equals("developer") ? "system" : role, in.get(i).getContent()));
        }
        return out;
    }
}
