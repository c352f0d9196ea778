package io.tune4j.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Each template's exact text on sample records; BOS and EOS spelled <s> and </s>. */
class TemplateTest {
    static final Example.Instruction NO_INPUT = new Example.Instruction("t:1", "", "Name a colour.", "", "Blue.");
    static final Example.Instruction WITH_INPUT = new Example.Instruction("t:2", "", "Translate to French.", "cat", "chat");
    static final Example.Chat CHAT = new Example.Chat("t:3", List.of(
            new Message("system", "Be brief."),
            new Message("user", "Hi"),
            new Message("assistant", "Hello!"),
            new Message("user", "2+2?"),
            new Message("assistant", "4")));

    // ChatML written as Hugging Face models ship it (e.g. Qwen), with a default system prompt
    static final String CHATML_JINJA = "{% for message in messages %}"
            + "{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\\nYou are helpful.<|im_end|>\\n' }}{% endif %}"
            + "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'].strip() + '<|im_end|>' + '\\n' }}"
            + "{% endfor %}"
            + "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

    // the Llama-2 chat template as in meta-llama/Llama-2-7b-chat-hf's tokenizer_config.json
    static final String LLAMA2_JINJA = "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}"
            + "{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}"
            + "{% set system_message = false %}{% endif %}{% for message in loop_messages %}"
            + "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
            + "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
            + "{% if loop.index0 == 0 and system_message != false %}"
            + "{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}"
            + "{% else %}{% set content = message['content'] %}{% endif %}"
            + "{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}"
            + "{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}";

    @TempDir
    Path tmp;

    @Test
    void alpaca() {
        PromptTemplate t = Templates.byName("alpaca", null);
        assertEquals("<s>Below is an instruction that describes a task. Write a response that appropriately completes the "
                + "request.\n\n### Instruction:\nName a colour.\n\n### Response:\nBlue.</s>", t.render(NO_INPUT, "<s>", "</s>"));
        assertEquals("<s>Below is an instruction that describes a task, paired with an input that provides further context. "
                + "Write a response that appropriately completes the request.\n\n### Instruction:\nTranslate to French.\n\n"
                + "### Input:\ncat\n\n### Response:\nchat</s>", t.render(WITH_INPUT, "<s>", "</s>"));
        List<Segment> s = t.segments(NO_INPUT);
        assertEquals(List.of(false, false, true, true), s.stream().map(Segment::trainable).toList());
        assertEquals("Blue.", s.get(2).text());
    }

    @Test
    void chatml() {
        PromptTemplate t = Templates.byName("chatml", null);
        assertEquals("<s><|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
                + "Hello!<|im_end|></s>\n<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n4<|im_end|></s>",
                t.render(CHAT, "<s>", "</s>"));
        assertEquals("<s><|im_start|>user\nTranslate to French.\n\ncat<|im_end|>\n<|im_start|>assistant\nchat<|im_end|></s>",
                t.render(WITH_INPUT, "<s>", "</s>"));
    }

    @Test
    void llama2() {
        PromptTemplate t = Templates.byName("llama2", null);
        assertEquals("<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST] Hello! </s><s>[INST] 2+2? [/INST] 4 </s>",
                t.render(CHAT, "<s>", "</s>"));
        assertEquals("<s>[INST] Name a colour. [/INST] Blue. </s>", t.render(NO_INPUT, "<s>", "</s>"));
        Example.Chat bad = new Example.Chat("f.jsonl:9", List.of(new Message("user", "a"), new Message("user", "b"),
                new Message("assistant", "c")));
        DataFormatException e = assertThrows(DataFormatException.class, () -> t.segments(bad));
        assertTrue(e.getMessage().startsWith("f.jsonl:9: messages must alternate user and assistant"), e.getMessage());
    }

    @Test
    void none() {
        PromptTemplate t = Templates.byName("none", null);
        assertEquals("<s>Translate to French.\n\ncat\nchat</s>", t.render(WITH_INPUT, "<s>", "</s>"));
        assertEquals("<s>Some text.</s>", t.render(new Example.Text("t:1", "Some text."), "<s>", "</s>"));
    }

    private Path modelWithTemplate(String template) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("model"));
        String json = new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(java.util.Map.of(
                "bos_token", "<s>", "eos_token", "</s>", "chat_template", template));
        Files.writeString(dir.resolve("tokenizer_config.json"), json);
        return dir;
    }

    @Test
    void modelChatTemplateThroughJinjava() throws IOException {
        JinjaChatTemplate t = (JinjaChatTemplate) Templates.byName("model", modelWithTemplate(CHATML_JINJA));
        Example.Chat noSystem = new Example.Chat("t:4", CHAT.messages().subList(1, 5));
        assertEquals("<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
                + "<|im_start|>assistant\n", t.render(noSystem.messages().subList(0, 1), true, "t:4"));
        List<Segment> s = t.segments(noSystem);
        assertEquals(6, s.size());
        assertEquals("<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n",
                s.get(0).text());
        assertEquals("Hello!<|im_end|>\n", s.get(1).text());
        assertTrue(s.get(1).trainable());
        assertEquals(Segment.Type.EOS, s.get(2).type());
        assertEquals("<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n", s.get(3).text());
        assertEquals("4<|im_end|>\n", s.get(4).text());
    }

    @Test
    void llama2ChatTemplateMatchesTheBuiltInOne() throws IOException {
        JinjaChatTemplate t = (JinjaChatTemplate) Templates.byName("model", modelWithTemplate(LLAMA2_JINJA));
        assertEquals("<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST] Hello! </s><s>[INST] 2+2? [/INST] 4 </s>",
                t.render(CHAT.messages(), false, "t:3"));
        // the template's own raise_exception message reaches the user with the record's location
        Example.Chat bad = new Example.Chat("f.jsonl:9", List.of(new Message("user", "a"), new Message("user", "b"),
                new Message("assistant", "c")));
        DataFormatException e = assertThrows(DataFormatException.class, () -> t.segments(bad));
        assertEquals("f.jsonl:9: the chat template raised: Conversation roles must alternate user/assistant/user/assistant/...",
                e.getMessage());
    }

    @Test
    void pythonStringMethodsInTemplates() throws IOException {
        String src = "{% for m in messages %}{{ m['role'].title() }}/{{ m['role'].upper() }}/{{ m['content'].lower() }}/"
                + "{{ m['content'].startswith('He') }}/{{ m['content'].endswith('!') }}/[{{ m['content'].strip() }}]"
                + "/{{ m['content'].rstrip('! ') }}/{{ m['content'].replace('l', 'L') }};{% endfor %}";
        JinjaChatTemplate t = (JinjaChatTemplate) Templates.byName("model", modelWithTemplate(src));
        assertEquals("User/USER/  hello! /false/false/[Hello!]/  Hello/  HeLLo! ;",
                t.render(List.of(new Message("user", "  Hello! ")), false, "t"));
        assertEquals("Assistant/ASSISTANT/hello!/true/true/[Hello!]/Hello/HeLLo!;",
                t.render(List.of(new Message("assistant", "Hello!")), false, "t"));
    }

    @Test
    void modelTemplateNeedsAChatTemplate() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("plain"));
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"bos_token\": \"<s>\"}");
        DataFormatException e = assertThrows(DataFormatException.class, () -> Templates.byName("model", dir));
        assertTrue(e.getMessage().startsWith(dir.resolve("tokenizer_config.json") + ": field 'chat_template' missing"), e.getMessage());
        assertEquals("chatml", Templates.defaultFor(FieldMapping.Kind.CHAT, dir));
        assertEquals("alpaca", Templates.defaultFor(FieldMapping.Kind.LABEL, dir));
        assertEquals("none", Templates.defaultFor(FieldMapping.Kind.TEXT, dir));
    }
}
