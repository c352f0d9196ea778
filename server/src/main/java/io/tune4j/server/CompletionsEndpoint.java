package io.tune4j.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.tune4j.generate.FinishReason;
import io.tune4j.generate.GenerationResult;
import io.tune4j.generate.PromptTooLongException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ThreadLocalRandom;

/** POST /v1/completions and /v1/chat/completions, whole or streamed as server-sent events. */
final class CompletionsEndpoint {
    private final Services s;

    CompletionsEndpoint(Services s) {
        this.s = s;
    }

    /** Validates the request and queues it; returns the job so that a disconnect can cancel it. */
    Scheduler.Job handle(ChannelHandlerContext ctx, ApiRequest req, boolean chat) {
        JsonNode b = req.body();
        if (b == null || !b.isObject()) throw ApiException.badRequest(null, "expected a JSON object as the request body");
        if (b.has("n") && !(b.get("n").canConvertToInt() && b.get("n").asInt() == 1)) {
            throw ApiException.badRequest("n", "only n=1 is supported");
        }
        JsonNode mt = b.has("max_completion_tokens") ? b.get("max_completion_tokens") : b.get("max_tokens");
        Integer maxTokens = null;
        if (mt != null && !mt.isNull()) {
            if (!mt.canConvertToInt()) throw ApiException.badRequest("max_tokens", "max_tokens must be an integer >= 1");
            maxTokens = mt.asInt();
        }
        JsonNode k = b.get("top_k"); // vLLM's and llama.cpp's extension
        Integer topK = null;
        if (k != null && !k.isNull()) {
            if (!k.canConvertToInt()) throw ApiException.badRequest("top_k", "top_k must be an integer >= 0");
            topK = k.asInt();
        }
        List<String> stop = new ArrayList<>();
        JsonNode st = b.get("stop");
        if (st != null && !st.isNull()) {
            if (st.isTextual()) stop.add(st.asText());
            else if (st.isArray()) for (JsonNode x : st) {
                if (!x.isTextual()) throw ApiException.badRequest("stop", "stop must be a string or a list of strings");
                stop.add(x.asText());
            }
            else throw ApiException.badRequest("stop", "stop must be a string or a list of strings");
        }
        boolean ignoreEos = b.path("ignore_eos").asBoolean(false); // vLLM's extension; benchmarks need fixed lengths
        boolean stream = b.path("stream").asBoolean(false);
        boolean includeUsage = b.path("stream_options").path("include_usage").asBoolean(false);
        JsonNode m = b.get("model");
        if (m != null && !m.isNull() && !m.isTextual()) throw ApiException.badRequest("model", "model must be a string");
        GenerationRequest g = new GenerationRequest(m == null || m.isNull() ? null : m.asText(),
                chat ? null : prompt(b.get("prompt")), chat ? messages(b.get("messages")) : null, maxTokens,
                number(b, "temperature"), number(b, "top_p"), topK, b.hasNonNull("seed") ? seedOf(b.get("seed")) : null, stop,
                ignoreEos);
        GenerationRequest.Checked checked = g.check(s, chat ? GenerationRequest.Shape.MESSAGES : GenerationRequest.Shape.PROMPT,
                "GET /v1/models");
        String model = checked.model();
        Reply reply = new Reply(ctx, chat, stream, includeUsage, model);
        Scheduler.Job job = checked.toJob(reply, s.options());
        if (!s.scheduler().trySubmit(job)) {
            if (!s.scheduler().accepting()) {
                throw new ApiException(HttpResponseStatus.SERVICE_UNAVAILABLE, "server_error", null, "shutting_down",
                        "the server is shutting down");
            }
            ApiException busy = new ApiException(HttpResponseStatus.TOO_MANY_REQUESTS, "rate_limit_error", null,
                    "too_many_requests", "the server is handling as many requests as it allows; retry shortly");
            io.netty.handler.codec.http.FullHttpResponse r = Http.error(busy);
            r.headers().set(HttpHeaderNames.RETRY_AFTER, "1");
            ctx.writeAndFlush(r); // past the JSON encoder: it carries a header the encoder does not know
            return null;
        }
        return job;
    }

    private static Double number(JsonNode b, String field) {
        JsonNode n = b.get(field);
        if (n == null || n.isNull()) return null;
        if (!n.isNumber()) throw ApiException.badRequest(field, field + " must be a number");
        return n.asDouble();
    }

    private static long seedOf(JsonNode n) {
        if (!n.canConvertToLong()) throw ApiException.badRequest("seed", "seed must be an integer");
        return n.asLong();
    }

    private static String prompt(JsonNode p) {
        if (p != null && p.isTextual()) return p.asText();
        if (p != null && p.isArray() && p.size() == 1 && p.get(0).isTextual()) return p.get(0).asText();
        throw ApiException.badRequest("prompt", "prompt must be a string (or a list holding one string)");
    }

    /** The turns as sent; roles are checked with every other field by {@link GenerationRequest}. */
    private static List<GenerationRequest.Turn> messages(JsonNode ms) {
        if (ms == null || !ms.isArray() || ms.isEmpty()) throw ApiException.badRequest("messages", "messages must be a non-empty list");
        List<GenerationRequest.Turn> out = new ArrayList<>();
        for (JsonNode m : ms) {
            JsonNode c = m.get("content");
            StringBuilder text = new StringBuilder();
            if (c != null && c.isTextual()) {
                text.append(c.asText());
            } else if (c != null && c.isArray()) {
                for (JsonNode part : c) {
                    if (!"text".equals(part.path("type").asText())) throw ApiException.badRequest("messages", "only text content parts are supported");
                    text.append(part.path("text").asText());
                }
            } else if (c != null && !c.isNull()) {
                throw ApiException.badRequest("messages", "message content must be a string or a list of text parts");
            }
            out.add(new GenerationRequest.Turn(m.path("role").asText(""), text.toString()));
        }
        return out;
    }

    /**
     * Writes one request's response as the scheduler reports; safe from the scheduler thread. A
     * streamed response goes out through an {@link SseStream}, which paces it to its client.
     */
    private final class Reply implements Scheduler.Sink {
        private final ChannelHandlerContext ctx;
        private final boolean chat;
        private final boolean stream;
        private final boolean includeUsage;
        private final String model;
        private final String id;
        private final long created = System.currentTimeMillis() / 1000;
        private SseStream sse; // streamed responses, from onQueued on

        Reply(ChannelHandlerContext ctx, boolean chat, boolean stream, boolean includeUsage, String model) {
            this.ctx = ctx;
            this.chat = chat;
            this.stream = stream;
            this.includeUsage = includeUsage;
            this.model = model;
            this.id = (chat ? "chatcmpl-" : "cmpl-") + Long.toHexString(ThreadLocalRandom.current().nextLong());
        }

        @Override
        public void onQueued(int promptTokens) {
            if (!stream) return;
            HttpResponse r = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
            r.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/event-stream; charset=utf-8");
            r.headers().set(HttpHeaderNames.CACHE_CONTROL, "no-cache");
            HttpUtil.setTransferEncodingChunked(r, true);
            sse = new SseStream(ctx, s.metrics(), s.options(), text -> deltaChunk(text, null));
            List<ObjectNode> first = new ArrayList<>();
            if (chat) {
                ObjectNode c = chunk();
                ObjectNode choice = c.withArray("choices").addObject().put("index", 0);
                choice.putObject("delta").put("role", "assistant").put("content", "");
                choice.putNull("logprobs");
                choice.putNull("finish_reason");
                first.add(c);
            }
            sse.open(r, first);
        }

        @Override
        public void onDelta(String text) {
            if (stream) sse.text(text);
        }

        @Override
        public void onDone(GenerationResult r) {
            if (r.finishReason() == FinishReason.CANCELLED) {
                // the client left or was too slow (nothing to write), or the server is stopping (tell it why)
                if (ctx.channel().isActive() && (sse == null || !sse.cutOff())) {
                    onError(new Scheduler.ShutdownException("the server is shutting down"));
                } else if (sse != null) {
                    sse.discard();
                }
                return;
            }
            if (stream) {
                List<ObjectNode> last = new ArrayList<>();
                last.add(deltaChunk("", r.finishReason().openAiName()));
                if (includeUsage) {
                    ObjectNode u = chunk();
                    u.putArray("choices");
                    u.set("usage", usage(r));
                    last.add(u);
                }
                sse.end(last);
                return;
            }
            ObjectNode root = Http.JSON.createObjectNode().put("id", id).put("object", chat ? "chat.completion" : "text_completion")
                    .put("created", created).put("model", model);
            ObjectNode choice = root.putArray("choices").addObject().put("index", 0);
            if (chat) choice.putObject("message").put("role", "assistant").put("content", r.text());
            else choice.put("text", r.text());
            choice.putNull("logprobs");
            choice.put("finish_reason", r.finishReason().openAiName());
            root.set("usage", usage(r));
            ctx.writeAndFlush(ApiResponse.json(root));
        }

        @Override
        public void onError(RuntimeException e) {
            if (e instanceof CancellationException) {
                if (sse != null) sse.discard();
                return;
            }
            ApiException api = toApi(e);
            if (sse == null) {
                ctx.writeAndFlush(ApiResponse.error(api));
                return;
            }
            sse.end(List.of(Http.errorBody(api)));
        }

        private ApiException toApi(RuntimeException e) {
            if (e instanceof ApiException a) return a;
            if (e instanceof PromptTooLongException) {
                return new ApiException(HttpResponseStatus.BAD_REQUEST, "invalid_request_error", chat ? "messages" : "prompt",
                        "context_length_exceeded", e.getMessage());
            }
            if (e instanceof Scheduler.TimeoutException) {
                return new ApiException(HttpResponseStatus.GATEWAY_TIMEOUT, "timeout_error", null, "timeout", e.getMessage());
            }
            if (e instanceof Scheduler.ShutdownException) {
                return new ApiException(HttpResponseStatus.SERVICE_UNAVAILABLE, "server_error", null, "shutting_down", e.getMessage());
            }
            if (e instanceof IllegalArgumentException) return ApiException.badRequest(null, e.getMessage());
            return new ApiException(HttpResponseStatus.INTERNAL_SERVER_ERROR, "server_error", null, null, String.valueOf(e.getMessage()));
        }

        private ObjectNode chunk() {
            return Http.JSON.createObjectNode().put("id", id).put("object", chat ? "chat.completion.chunk" : "text_completion")
                    .put("created", created).put("model", model);
        }

        private ObjectNode deltaChunk(String text, String finish) {
            ObjectNode c = chunk();
            ObjectNode choice = c.withArray("choices").addObject().put("index", 0);
            if (chat) {
                ObjectNode d = choice.putObject("delta");
                if (!text.isEmpty()) d.put("content", text);
            } else {
                choice.put("text", text);
            }
            choice.putNull("logprobs");
            if (finish == null) choice.putNull("finish_reason"); else choice.put("finish_reason", finish);
            return c;
        }

        private ObjectNode usage(GenerationResult r) {
            return Http.JSON.createObjectNode().put("prompt_tokens", r.promptTokens())
                    .put("completion_tokens", r.completionTokens())
                    .put("total_tokens", r.promptTokens() + r.completionTokens());
        }
    }
}
