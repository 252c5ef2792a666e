// Renders messages with LiquidJS, as tests/templates/test_engines.py asks: stdin is a JSON
// list of {fields: {name: source}, variables: {...}}, stdout the same list rendered.
// Strict variables, like python-liquid's StrictUndefined and the provider.
import { Liquid } from "liquidjs";

const engine = new Liquid({ strictVariables: true, strictFilters: true });
let input = "";
process.stdin.setEncoding("utf8");
for await (const chunk of process.stdin) input += chunk;
const rendered = [];
for (const message of JSON.parse(input)) {
  const fields = {};
  for (const [name, source] of Object.entries(message.fields)) {
    try {
      fields[name] = engine.parseAndRenderSync(source, message.variables);
    } catch (error) {
      fields[name] = `LiquidJS error: ${error.message}`;
    }
  }
  rendered.push(fields);
}
process.stdout.write(JSON.stringify(rendered));
