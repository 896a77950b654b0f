// The official `openai` npm package against a Conduit gateway. Reads GATEWAY_URL and
// the keys from the environment, makes the same calls as the Python client tests, and
// prints one JSON object with what it saw (the Python test checks it).
import OpenAI from "openai";

const url = process.env.GATEWAY_URL;
const client = (key) => new OpenAI({ baseURL: url, apiKey: key, maxRetries: 0 });
const main = client(process.env.KEY);
const hi = [{ role: "user", content: "Hi there" }];
const out = {};

async function status(call) {
  try {
    await call();
    return { status: 200 };
  } catch (err) {
    return { status: err.status, code: err.code, type: err.type };
  }
}

const answer = await main.chat.completions.create({ model: "chat", messages: hi });
out.chat = answer.choices[0].message.content;
out.usage = answer.usage.total_tokens;

const stream = await main.chat.completions.create({ model: "chat", messages: hi, stream: true });
let text = "";
for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? "";
out.stream = text;

const tools = [{
  type: "function",
  function: {
    name: "get_weather",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
}];
const called = await main.chat.completions.create({ model: "chat", messages: hi, tools });
out.tool = called.choices[0].message.tool_calls[0].function;

const vectors = await main.embeddings.create({ model: "embed", input: ["a", "bbb"] });
out.embeddings = vectors.data.map((d) => d.embedding.length);

out.models = [];
for await (const m of main.models.list()) out.models.push(m.id);

out.badKey = await status(() => client("sk-cnd-wrong").chat.completions.create({ model: "chat", messages: hi }));
out.unknownModel = await status(() => main.chat.completions.create({ model: "nope", messages: hi }));
// The budget is reserved at each call's worst case (max_tokens at the group's prices)
// and settled at its real cost: the first call fits, the second would not.
const budget = client(process.env.BUDGET_KEY);
await budget.chat.completions.create({ model: "chat", messages: hi, max_tokens: 10 });
out.budget = await status(() =>
  budget.chat.completions.create({ model: "chat", messages: hi, max_tokens: 10 }),
);
const limited = client(process.env.RPM_KEY);
await limited.chat.completions.create({ model: "chat", messages: hi });
out.rateLimited = await status(() => limited.chat.completions.create({ model: "chat", messages: hi }));

console.log(JSON.stringify(out));
