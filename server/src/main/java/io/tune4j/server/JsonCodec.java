package io.tune4j.server;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import io.netty.buffer.ByteBufInputStream;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.MessageToMessageCodec;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.io.IOException;
import java.util.List;

/** Request bodies to JSON trees (uploads stay bytes), {@link ApiResponse}s to HTTP responses. */
final class JsonCodec extends MessageToMessageCodec<FullHttpRequest, ApiResponse> {
    @Override
    protected void decode(ChannelHandlerContext ctx, FullHttpRequest req, List<Object> out) {
        QueryStringDecoder uri = new QueryStringDecoder(req.uri());
        if (ApiRequest.isUpload(req.method().name(), uri.path())) {
            // multipart or raw JSONL: the files endpoint parses it (off the event loop)
            out.add(new ApiRequest(req.method().name(), uri.path(), req.headers(), null, uri.parameters(),
                    ByteBufUtil.getBytes(req.content())));
            return;
        }
        JsonNode body = null;
        if (req.content().isReadable()) {
            try (ByteBufInputStream in = new ByteBufInputStream(req.content())) {
                body = Http.JSON.readTree((java.io.InputStream) in);
            } catch (JsonProcessingException e) {
                // this handler's own encoder lies behind ctx, so the error goes out as plain HTTP
                ctx.writeAndFlush(Http.error(ApiException.badRequest(null, "the request body is not valid JSON: "
                        + e.getOriginalMessage())));
                return;
            } catch (IOException e) {
                ctx.writeAndFlush(Http.error(ApiException.badRequest(null, "cannot read the request body")));
                return;
            }
        }
        out.add(new ApiRequest(req.method().name(), uri.path(), req.headers(), body, uri.parameters(), null));
    }

    @Override
    protected void encode(ChannelHandlerContext ctx, ApiResponse r, List<Object> out) {
        FullHttpResponse http = Http.full(r.status(), r.contentType(), r.body());
        out.add(http);
    }
}
