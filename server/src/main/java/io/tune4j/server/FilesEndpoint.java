package io.tune4j.server;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.multipart.Attribute;
import io.netty.handler.codec.http.multipart.DefaultHttpDataFactory;
import io.netty.handler.codec.http.multipart.FileUpload;
import io.netty.handler.codec.http.multipart.HttpPostRequestDecoder;
import io.netty.handler.codec.http.multipart.InterfaceHttpData;
import io.tune4j.server.jobs.FileStore;
import java.io.IOException;
import java.util.List;

/**
 * POST /v1/files (OpenAI's multipart/form-data with {@code purpose=fine-tune} and {@code file}, or
 * the JSONL itself as the body with {@code ?purpose=fine-tune&filename=NAME}), GET /v1/files,
 * GET /v1/files/{id}, GET /v1/files/{id}/content and DELETE /v1/files/{id}. Parsing, checking and
 * storing happen on the blocking executor.
 */
final class FilesEndpoint {
    private final Services s;

    FilesEndpoint(Services s) {
        this.s = s;
    }

    void upload(ChannelHandlerContext ctx, ApiRequest req) {
        FileStore files = store();
        OffLoop.respond(s, ctx, () -> {
            Upload u = parse(req);
            return ApiResponse.json(JobJson.file(files.add(u.filename, u.purpose, u.content)));
        });
    }

    void list(ChannelHandlerContext ctx) {
        FileStore files = store();
        OffLoop.respond(s, ctx, () -> ApiResponse.json(JobJson.list(files.list().stream().map(JobJson::file).toList(), false)));
    }

    void get(ChannelHandlerContext ctx, String id) {
        FileStore files = store();
        OffLoop.respond(s, ctx, () -> ApiResponse.json(JobJson.file(files.get(id).orElseThrow(() -> notFound(id)))));
    }

    void content(ChannelHandlerContext ctx, String id) {
        FileStore files = store();
        OffLoop.respond(s, ctx, () -> {
            FileStore.StoredFile f = files.get(id).orElseThrow(() -> notFound(id));
            return new ApiResponse(HttpResponseStatus.OK, "application/jsonl", files.content(f.id()));
        });
    }

    void delete(ChannelHandlerContext ctx, String id) {
        FileStore files = store();
        OffLoop.respond(s, ctx, () -> {
            if (!files.delete(id)) throw notFound(id);
            return ApiResponse.json(Http.JSON.createObjectNode().put("id", id).put("object", "file").put("deleted", true));
        });
    }

    private FileStore store() {
        if (s.files() == null) {
            throw new ApiException(HttpResponseStatus.SERVICE_UNAVAILABLE, "server_error", null, "no_data_dir",
                    "file uploads need the server to run with --data-dir");
        }
        return s.files();
    }

    private static ApiException notFound(String id) {
        return ApiException.notFound("not_found", "no file with id '" + id + "'");
    }

    private record Upload(String purpose, String filename, byte[] content) {}

    private static Upload parse(ApiRequest req) {
        String type = req.headers().get(HttpHeaderNames.CONTENT_TYPE, "");
        if (!type.regionMatches(true, 0, "multipart/form-data", 0, 19)) {
            String purpose = req.queryParam("purpose");
            return new Upload(purpose == null ? FileStore.PURPOSE : purpose, req.queryParam("filename"), req.content());
        }
        // Netty's decoder reads the parts; it wants a request, so the aggregated body is wrapped in one again
        DefaultFullHttpRequest http = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, "/v1/files",
                Unpooled.wrappedBuffer(req.content()));
        http.headers().set(HttpHeaderNames.CONTENT_TYPE, type);
        HttpPostRequestDecoder decoder;
        try {
            decoder = new HttpPostRequestDecoder(new DefaultHttpDataFactory(false), http);
        } catch (HttpPostRequestDecoder.ErrorDataDecoderException e) {
            throw ApiException.badRequest(null, "cannot read the multipart body: " + e.getMessage());
        }
        try {
            String purpose = null;
            FileUpload file = null;
            List<InterfaceHttpData> parts = decoder.getBodyHttpDatas();
            for (InterfaceHttpData d : parts) {
                if (d instanceof Attribute a && a.getName().equals("purpose")) purpose = a.getValue();
                else if (d instanceof FileUpload f && f.getName().equals("file")) file = f;
                else if (d instanceof Attribute a && a.getName().equals("file")) {
                    throw ApiException.badRequest("file", "the 'file' part must be a file (with a filename)");
                }
            }
            if (file == null) throw ApiException.badRequest("file", "the multipart body has no 'file' part");
            return new Upload(purpose, file.getFilename(), file.get());
        } catch (HttpPostRequestDecoder.ErrorDataDecoderException | IOException e) {
            throw ApiException.badRequest(null, "cannot read the multipart body: " + e.getMessage());
        } finally {
            decoder.destroy();
            http.release();
        }
    }
}
