/**
 * The stub LLM as a program, for the real-node cluster (Service stub-llm in clawcrew-system): an
 * OpenAI-compatible API whose answers are scripted by what the messages hold, so that a lead really
 * delegates through the operator's MCP tool:
 * - a user message with "@<agent>: <task>" and the tool_search tool on offer → tool_search "delegate";
 * - that search's result → tool_call of the delegate tool it lists, with { agent, task };
 * - the delegate tool's result → "Lead: <result>";
 * - anything else → "Answer from the stub LLM: <last user message>", held for N seconds first when the
 *   message says "hold Ns" (for tests that kill a pod while a task runs).
 *
 *   node images/stub-llm/server.ts [--port 8080] [--host 0.0.0.0]
 */
import { parseArgs } from "node:util";
import { type ChatMessage, type ChatRequest, type StubReply, startStubLlm } from "../../harness/stub-llm.ts";

export const SEARCH_CALL = "callsearch";
export const DELEGATE_CALL = "calldelegate";
const MENTION = /@([a-z0-9][a-z0-9-]*):\s*(.+)/;

function text(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) return content.map((part) => (part as { text?: string })?.text ?? "").join("");
  return content === undefined || content === null ? "" : JSON.stringify(content);
}

const INTERNAL_CONTEXT = /<<<BEGIN_OPENCLAW_INTERNAL_CONTEXT>>>[\s\S]*?<<<END_OPENCLAW_INTERNAL_CONTEXT>>>/g;

/**
 * The user's own latest text. OpenClaw 2026.9.6 sends it as "[<timestamp>] <text>\n\nRuntime: <facts>",
 * and adds user messages that hold only its internal context blocks.
 */
export function lastUserText(messages: ChatMessage[]): string {
  for (const message of messages.filter((m) => m.role === "user").reverse()) {
    const own = text(message.content)
      .replace(INTERNAL_CONTEXT, "")
      .split(/\n\nRuntime: /)[0]!
      .trim();
    if (own) return own.replace(/^\[[^\]\n]*\]\s*/, "");
  }
  return "";
}

const HOLD = /\bhold (\d{1,3})s\b/;

export function reply(request: ChatRequest): StubReply | Promise<StubReply> {
  const results = request.messages.filter((m) => m.role === "tool");
  const delegated = results.find((m) => m.tool_call_id === DELEGATE_CALL);
  if (delegated) return { content: `Lead: ${text(delegated.content)}` };
  const searched = results.find((m) => m.tool_call_id === SEARCH_CALL);
  const mention = MENTION.exec(
    request.messages
      .filter((m) => m.role === "user")
      .map((m) => text(m.content))
      .join("\n"),
  );
  if (searched && mention) {
    const tool = /mcp:[\w-]+:[\w-]+__delegate\b/.exec(text(searched.content))?.[0];
    if (!tool) return { content: `stub LLM: no delegate tool in the search result: ${text(searched.content)}` };
    const args = { agent: mention[1], task: mention[2]!.trim() };
    return { toolCalls: [{ id: DELEGATE_CALL, name: "tool_call", arguments: { id: tool, args } }] };
  }
  const offersSearch = request.tools?.some((t) => t.function.name === "tool_search") ?? false;
  if (mention && offersSearch) {
    return { toolCalls: [{ id: SEARCH_CALL, name: "tool_search", arguments: { query: "delegate" } }] };
  }
  const task = lastUserText(request.messages);
  const answer = { content: `Answer from the stub LLM: ${task}` };
  const hold = HOLD.exec(task);
  return hold ? new Promise((resolve) => setTimeout(() => resolve(answer), Number(hold[1]) * 1000)) : answer;
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: { port: { type: "string", default: "8080" }, host: { type: "string", default: "0.0.0.0" } },
  });
  // One line per request, so that `kubectl logs` shows what the agents asked and what they got.
  const logged = async (request: ChatRequest): Promise<StubReply> => {
    const answer = await reply(request);
    process.stdout.write(`${JSON.stringify({ user: lastUserText(request.messages).slice(0, 600), answer })}\n`);
    return answer;
  };
  const stub = await startStubLlm({
    host: values.host,
    port: Number(values.port),
    models: ["stub-model"],
    reply: logged,
  });
  process.stdout.write(`stub LLM listening at ${stub.baseUrl}\n`);
  const stop = () => void stub.close().then(() => process.exit(0));
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}
