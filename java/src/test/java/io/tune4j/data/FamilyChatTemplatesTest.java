package io.tune4j.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real chat templates of the model families (test resources chat-templates/*.jinja, shipped
 * unchanged; see the README there) rendered through Jinjava, each in a model directory whose
 * tokenizer_config.json carries the template and the family's own bos_token and eos_token. The
 * expected texts are written out by hand from each template's definition.
 */
class FamilyChatTemplatesTest {
    static final Message SYSTEM = new Message("system", "Be brief.");
    static final Message HI = new Message("user", "Hi");
    static final Message HELLO = new Message("assistant", "Hello!");
    static final Message SUM = new Message("user", "2+2?");
    static final Message FOUR = new Message("assistant", "4");

    @TempDir
    Path tmp;

    private JinjaChatTemplate model(String file, String bos, String eos) throws IOException {
        String template;
        try (InputStream in = FamilyChatTemplatesTest.class.getResourceAsStream("/chat-templates/" + file)) {
            if (in == null) throw new IOException("test resource chat-templates/" + file + " missing");
            template = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        Path dir = Files.createDirectories(tmp.resolve(file));
        Map<String, Object> cfg = new LinkedHashMap<>();
        cfg.put("bos_token", bos);
        cfg.put("eos_token", eos);
        cfg.put("chat_template", template);
        Files.writeString(dir.resolve("tokenizer_config.json"), new ObjectMapper().writeValueAsString(cfg));
        JinjaChatTemplate t = (JinjaChatTemplate) Templates.byName("model", dir);
        assertEquals(template, t.source());
        return t;
    }

    private static Example.Chat chat(Message... ms) {
        return new Example.Chat("t.jsonl:1", List.of(ms));
    }

    /** The texts of the segments and which of them the loss covers ("+" trained, "-" not). */
    private static List<String> layout(List<Segment> segments) {
        return segments.stream().map(s -> (s.trainable() ? "+" : "-") + (s.type() == Segment.Type.TEXT ? s.text()
                : "<" + s.type() + ">")).toList();
    }

    private static void assertRaises(JinjaChatTemplate t, String message, Message... ms) {
        DataFormatException e = assertThrows(DataFormatException.class, () -> t.segments(chat(ms)));
        assertEquals("t.jsonl:1: the chat template raised: " + message, e.getMessage());
    }

    @Test
    void llama3() throws IOException {
        JinjaChatTemplate t = model("meta-llama-Llama-3.2-3B-Instruct.jinja", "<|begin_of_text|>", "<|eot_id|>");
        // strftime_now is not defined, so the template's own fallback date is used: a stable text to train on
        String head = "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
                + "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n";
        assertEquals(head + "Be brief.<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\n2+2?<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\n",
                t.render(List.of(SYSTEM, HI, HELLO, SUM), true, "t"));
        // no system message: the system header is still written, with an empty message
        assertEquals(head + "<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>",
                t.render(List.of(HI), false, "t"));
        // content is trimmed
        assertEquals(head + "<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>",
                t.render(List.of(new Message("user", "  Hi \n")), false, "t"));

        assertEquals(List.of(
                "-" + head + "Be brief.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
                        + "<|start_header_id|>assistant<|end_header_id|>\n\n",
                "+Hello!<|eot_id|>", "+<EOS>",
                "-<|start_header_id|>user<|end_header_id|>\n\n2+2?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
                "+4<|eot_id|>", "+<EOS>"),
                layout(t.segments(chat(SYSTEM, HI, HELLO, SUM, FOUR))));
    }

    @Test
    void gemma2() throws IOException {
        JinjaChatTemplate t = model("google-gemma-2-2b-it.jinja", "<bos>", "<eos>");
        assertEquals("<bos><start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\nHello!<end_of_turn>\n"
                + "<start_of_turn>user\n2+2?<end_of_turn>\n<start_of_turn>model\n",
                t.render(List.of(HI, HELLO, SUM), true, "t"));
        assertEquals(List.of(
                "-<bos><start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n", "+Hello!<end_of_turn>\n", "+<EOS>",
                "-<start_of_turn>user\n2+2?<end_of_turn>\n<start_of_turn>model\n", "+4<end_of_turn>\n", "+<EOS>"),
                layout(t.segments(chat(HI, HELLO, SUM, FOUR))));
        // Gemma 2's template has no system role and insists on user/model alternation
        assertRaises(t, "System role not supported", SYSTEM, HI, HELLO);
        assertRaises(t, "Conversation roles must alternate user/assistant/user/assistant/...", HI, SUM, HELLO);
        assertRaises(t, "Conversation roles must alternate user/assistant/user/assistant/...", HELLO, HI, FOUR);
    }

    // Qwen3's template reverses messages with messages[::-1] and sets namespace(k=messages|length - 1),
    // both of which only parse after PythonSyntax's rewrite
    @Test
    void qwen3() throws IOException {
        JinjaChatTemplate t = model("Qwen-Qwen3-0.6B.jinja", null, "<|im_end|>");
        // the assistant turn after the last user message gets an (empty) think block
        assertEquals("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
                + "<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n"
                + "<|im_start|>assistant\n<think>\n\n</think>\n\n4<|im_end|>\n",
                t.render(List.of(SYSTEM, HI, HELLO, SUM, FOUR), false, "t"));
        assertEquals("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n", t.render(List.of(HI), true, "t"));
        // earlier assistant turns, all before the last user message, carry no think block
        assertEquals("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
                + "<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n",
                t.render(List.of(SYSTEM, HI, HELLO, SUM), true, "t"));
        // scanning messages[::-1], a user turn that only wraps a tool response is not the last query, so
        // both assistant turns come after it and the final one gets the think block
        Message toolResult = new Message("user", "<tool_response>\nok\n</tool_response>");
        assertEquals("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n"
                + "<|im_start|>user\n<tool_response>\nok\n</tool_response><|im_end|>\n"
                + "<|im_start|>assistant\n<think>\n\n</think>\n\n4<|im_end|>\n",
                t.render(List.of(HI, HELLO, toolResult, FOUR), false, "t"));
        // reasoning written into the content is split out of it
        assertEquals("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\nGreet back.\n</think>\n\nHello!<|im_end|>\n",
                t.render(List.of(HI, new Message("assistant", "<think>\nGreet back.\n</think>\n\nHello!")), false, "t"));
        assertEquals(List.of(
                "-<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n",
                "+<think>\n\n</think>\n\nHello!<|im_end|>\n", "+<EOS>"),
                layout(t.segments(chat(SYSTEM, HI, HELLO))));
        // Qwen3 drops the think block of every assistant turn before the last user message, so an
        // earlier turn is not a prefix of the whole conversation: refused, not mis-masked
        DataFormatException e = assertThrows(DataFormatException.class, () -> t.segments(chat(HI, HELLO, SUM, FOUR)));
        assertTrue(e.getMessage().contains("does not render a conversation as a prefix of its continuation (at t.jsonl:1, turn 4)"),
                e.getMessage());
    }

    @Test
    void qwen25() throws IOException {
        JinjaChatTemplate t = model("Qwen-Qwen2.5-0.5B-Instruct.jinja", null, "<|im_end|>");
        assertEquals("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
                + "<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n"
                + "<|im_start|>assistant\n4<|im_end|>\n",
                t.render(List.of(SYSTEM, HI, HELLO, SUM, FOUR), false, "t"));
        // no system message: Qwen2.5 writes its own; content is not trimmed
        String qwenSystem = "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n";
        assertEquals(qwenSystem + "<|im_start|>user\n Hi \n<|im_end|>\n<|im_start|>assistant\n",
                t.render(List.of(new Message("user", " Hi \n")), true, "t"));
        assertEquals(List.of(
                "-" + qwenSystem + "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n", "+Hello!<|im_end|>\n", "+<EOS>",
                "-<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n", "+4<|im_end|>\n", "+<EOS>"),
                layout(t.segments(chat(HI, HELLO, SUM, FOUR))));
    }

    @Test
    void gemma3() throws IOException {
        JinjaChatTemplate t = model("google-gemma-3-1b-it.jinja", "<bos>", "<eos>");
        // unlike Gemma 2, the system message is accepted and put in front of the first user turn
        assertEquals("<bos><start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\nHello!<end_of_turn>\n"
                + "<start_of_turn>user\n2+2?<end_of_turn>\n<start_of_turn>model\n",
                t.render(List.of(SYSTEM, HI, HELLO, SUM), true, "t"));
        assertEquals("<bos><start_of_turn>user\nHi<end_of_turn>\n", t.render(List.of(new Message("user", "  Hi \n")), false, "t"));
        assertEquals(List.of(
                "-<bos><start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\n", "+Hello!<end_of_turn>\n", "+<EOS>",
                "-<start_of_turn>user\n2+2?<end_of_turn>\n<start_of_turn>model\n", "+4<end_of_turn>\n", "+<EOS>"),
                layout(t.segments(chat(SYSTEM, HI, HELLO, SUM, FOUR))));
        assertRaises(t, "Conversation roles must alternate user/assistant/user/assistant/...", HI, SUM, HELLO);
        assertRaises(t, "Conversation roles must alternate user/assistant/user/assistant/...", SYSTEM, HELLO, HI, FOUR);
    }

    @Test
    void phi3() throws IOException {
        JinjaChatTemplate t = model("microsoft-Phi-3-mini-4k-instruct.jinja", "<s>", "<|endoftext|>");
        assertEquals("<|system|>\nBe brief.<|end|>\n<|user|>\nHi<|end|>\n<|assistant|>\nHello!<|end|>\n"
                + "<|user|>\n2+2?<|end|>\n<|assistant|>\n4<|end|>\n<|endoftext|>",
                t.render(List.of(SYSTEM, HI, HELLO, SUM, FOUR), false, "t"));
        assertEquals("<|system|>\nBe brief.<|end|>\n<|user|>\nHi<|end|>\n<|assistant|>\n",
                t.render(List.of(SYSTEM, HI), true, "t"));
        assertEquals(List.of(
                "-<|system|>\nBe brief.<|end|>\n<|user|>\nHi<|end|>\n<|assistant|>\n", "+Hello!<|end|>\n<|endoftext|>", "+<EOS>"),
                layout(t.segments(chat(SYSTEM, HI, HELLO))));
        // eos_token closes only the whole conversation, so an earlier assistant turn ending in it is
        // not a prefix of the next prompt: refused rather than trained with a stray end of text
        DataFormatException e = assertThrows(DataFormatException.class, () -> t.segments(chat(HI, HELLO, SUM, FOUR)));
        assertTrue(e.getMessage().contains("does not render a conversation as a prefix of its continuation (at t.jsonl:1, turn 4)"),
                e.getMessage());
    }

    @Test
    void mistral() throws IOException {
        JinjaChatTemplate t = model("mistralai-Mistral-Nemo-Instruct-2407.jinja", "<s>", "</s>");
        assertEquals("<s>[INST]Hi[/INST]Hello!</s>[INST]2+2?[/INST]4</s>", t.render(List.of(HI, HELLO, SUM, FOUR), false, "t"));
        // the system message goes into the last user turn
        assertEquals("<s>[INST]Hi[/INST]Hello!</s>[INST]Be brief.\n\n2+2?[/INST]", t.render(List.of(SYSTEM, HI, HELLO, SUM), true, "t"));
        assertEquals(List.of("-<s>[INST]Hi[/INST]", "+Hello!</s>", "+<EOS>", "-[INST]2+2?[/INST]", "+4</s>", "+<EOS>"),
                layout(t.segments(chat(HI, HELLO, SUM, FOUR))));
        assertRaises(t, "After the optional system message, conversation roles must alternate user/assistant/user/assistant/...",
                HI, SUM, HELLO);
        assertRaises(t, "After the optional system message, conversation roles must alternate user/assistant/user/assistant/...",
                SYSTEM, HELLO, HI, FOUR);
    }
}
