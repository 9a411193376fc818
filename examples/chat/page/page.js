// The chat page: plain JavaScript, no build step. It renders what the server
// streams (server-sent events with ids) and decides nothing from the model's
// text: how a turn ended is the server's `ending` (the run's status and stop
// reason), and that is what the page explains.
'use strict';

const $ = (id) => document.getElementById(id);
const conversationView = $('conversation');
const input = $('message');
const sendButton = $('send');
const stopButton = $('stop');
const notice = $('notice');
const connection = $('connection');

let conversationId = null;
let source = null;
let lastEventId = '';
let runningTurn = null;
let reconnectTimer = null;

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function pretty(json) {
  try {
    return JSON.stringify(JSON.parse(json), null, 2);
  } catch {
    return json;
  }
}

function resultText(content) {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((b) => (b && b.type === 'text' ? b.text : `[${b && b.type}]`)).join('');
}

// ---- one turn's view: a user bubble, an assistant bubble of blocks, the ending ----

function turnElement(turnId) {
  let node = conversationView.querySelector(`.turn[data-turn-id="${CSS.escape(turnId)}"]`);
  if (!node) {
    node = el('section', 'turn');
    node.dataset.turnId = turnId;
    conversationView.append(node);
  }
  return node;
}

function resetTurn(turnId, status) {
  const node = turnElement(turnId);
  node.replaceChildren();
  node.dataset.status = status;
  return node;
}

function assistantOf(node) {
  let bubble = node.querySelector(':scope > .assistant');
  if (!bubble) {
    bubble = el('div', 'assistant');
    node.append(bubble);
  }
  return bubble;
}

function toolBlock(blockType, name, id) {
  const block = el('div', `block ${blockType}`);
  if (id) block.dataset.toolId = id;
  block.append(el('span', 'tool-name', blockType === 'server_tool_use' ? `server tool ${name}` : `tool ${name}`), ' ');
  block.append(el('span', 'tool-status', blockType === 'server_tool_use' ? 'runs on the API side' : 'requested'));
  block.append(el('pre', 'input'));
  return block;
}

function serverResult(blockType, summary) {
  const block = el('div', 'block server_result');
  block.append(el('span', 'tool-name', blockType.replace(/_/g, ' ')));
  if (summary && Array.isArray(summary.results)) {
    const list = el('ul');
    for (const r of summary.results) {
      const item = el('li');
      item.append(el('span', '', r.title || r.url || '(untitled)'));
      if (r.url) item.append(' ', el('span', 'muted', r.url));
      list.append(item);
    }
    block.append(list);
  } else if (summary && summary.error) block.append(' ', el('span', 'tool-status', `error: ${summary.error}`));
  return block;
}

function attachToolResult(node, toolUseId, text, isError) {
  const call = node.querySelector(`[data-tool-id="${CSS.escape(toolUseId)}"]`);
  const result = el('div', isError ? 'tool-result error' : 'tool-result', `${isError ? 'failed: ' : '→ '}${text}`);
  if (call) {
    call.querySelector('.tool-status').textContent = isError ? 'failed' : 'done';
    call.append(result);
  } else assistantOf(node).append(result);
}

/** A finished turn (or what a journal holds of one in flight), from its messages. */
function renderMessages(node, messages) {
  messages.forEach((message, i) => {
    const blocks = typeof message.content === 'string' ? [{ type: 'text', text: message.content }] : message.content;
    if (message.role === 'user') {
      if (i === 0) {
        const text = blocks.filter((b) => b.type === 'text').map((b) => b.text).join('\n');
        node.append(el('div', 'user', text));
      }
      for (const b of blocks) if (b.type === 'tool_result' && i > 0) attachToolResult(node, b.tool_use_id, resultText(b.content), b.is_error === true);
      return;
    }
    const bubble = assistantOf(node);
    for (const b of blocks) {
      if (b.type === 'text') bubble.append(el('div', 'block text', b.text));
      else if (b.type === 'thinking') {
        const d = el('details', 'block thinking');
        d.append(el('summary', '', 'Thinking'), el('pre', '', b.thinking));
        bubble.append(d);
      } else if (b.type === 'redacted_thinking') bubble.append(el('div', 'note', '(redacted thinking)'));
      else if (b.type === 'tool_use' || b.type === 'server_tool_use') {
        const t = toolBlock(b.type, b.name, b.id);
        t.querySelector('.input').textContent = JSON.stringify(b.input, null, 2);
        if (b.type === 'server_tool_use') t.querySelector('.tool-status').textContent = 'ran on the API side';
        bubble.append(t);
      } else if (typeof b.type === 'string' && b.type.endsWith('_tool_result')) {
        bubble.append(serverResult(b.type, { results: Array.isArray(b.content) ? b.content.map((r) => ({ title: r.title, url: r.url })) : undefined, error: b.content && b.content.error_code }));
      } else bubble.append(el('div', 'note', `[${b.type}]`));
    }
  });
}

/** What each ending means, in words. Branches on the status and stop reason only. */
function endingText(ending) {
  switch (ending.status) {
    case 'completed':
      return ending.paused > 0 ? `Done (end_turn) — the turn paused ${ending.paused}× (pause_turn) and was continued.` : 'Done (end_turn).';
    case 'refused': {
      const d = ending.stopDetails || {};
      const why = [d.category, d.explanation].filter(Boolean).join(': ').replace(/\.$/, '');
      return `Refused — the model declined this request (stop_reason: refusal)${why ? ` — ${why}` : ''}. It is not retried.`;
    }
    case 'incomplete': {
      const what = ending.reason === 'model_context_window_exceeded' ? 'the context window is full' : 'the answer was cut off at max_tokens';
      const dropped = ending.dropped.length === 0 ? ' Nothing was dropped.' : ` Dropped: ${ending.dropped.map((d) => `an unfinished ${d.type}${d.name ? ` call to ${d.name}` : ''} (partial input ${JSON.stringify(d.partial.slice(0, 80))})`).join('; ')} — never run.`;
      return `Incomplete — ${what}.${dropped}`;
    }
    case 'stopped':
      return 'Stopped at a stop sequence (stop_sequence).';
    case 'aborted':
      return 'Stopped by you — the partial answer is kept in the conversation.';
    case 'budget_exceeded':
      return `Stopped by a budget: ${ending.error ? ending.error.message : ''}`;
    default:
      return `Failed${ending.error ? ` (${ending.error.code}): ${ending.error.message}` : '.'}`;
  }
}

function renderEnding(node, ending) {
  node.dataset.status = ending.status;
  node.append(el('div', `ending ${ending.status}`, endingText(ending)));
}

// ---- the turn in flight, event by event ----

const liveBlocks = new Map(); // `${turnId}:${segment}:${index}` → element

function liveKey(e) {
  return `${e.turnId}:${e.segment}:${e.index}`;
}

function setRunning(turnId) {
  runningTurn = turnId;
  stopButton.disabled = turnId === null;
  sendButton.disabled = turnId !== null;
}

const handlers = {
  turn_start(e) {
    const node = resetTurn(e.turnId, 'running');
    renderMessages(node, e.messages);
    if (e.resumed) node.append(el('div', 'note resumed', 'The server restarted; the turn resumed from its journal.'));
    setRunning(e.turnId);
  },
  segment_start(e) {
    const node = turnElement(e.turnId);
    if (e.attempt > 1) {
      // A retry of the same request: the failed attempt's output is void.
      for (const [key, block] of liveBlocks) if (key.startsWith(`${e.turnId}:${e.segment}:`)) { block.remove(); liveBlocks.delete(key); }
      node.append(el('div', 'note', `The stream failed; retrying (attempt ${e.attempt}).`));
    }
    assistantOf(node);
  },
  block_start(e) {
    const bubble = assistantOf(turnElement(e.turnId));
    let block;
    if (e.blockType === 'text') block = el('div', 'block text');
    else if (e.blockType === 'thinking') {
      block = el('details', 'block thinking');
      block.append(el('summary', '', 'Thinking…'), el('pre'));
    } else if (e.blockType === 'tool_use' || e.blockType === 'server_tool_use') block = toolBlock(e.blockType, e.name, e.id);
    else if (e.blockType.endsWith('_tool_result')) block = serverResult(e.blockType, e.summary);
    else block = el('div', 'note', `[${e.blockType}]`);
    liveBlocks.set(liveKey(e), block);
    bubble.append(block);
  },
  text(e) {
    liveBlocks.get(liveKey(e))?.append(e.delta);
  },
  thinking(e) {
    liveBlocks.get(liveKey(e))?.querySelector('pre').append(e.delta);
  },
  input(e) {
    liveBlocks.get(liveKey(e))?.querySelector('.input').append(e.delta);
  },
  block_stop(e) {
    const block = liveBlocks.get(liveKey(e));
    const pre = block?.querySelector('.input');
    if (pre) pre.textContent = pretty(pre.textContent);
    if (block?.matches('.thinking')) block.querySelector('summary').textContent = 'Thinking';
  },
  segment_end(e) {
    if (e.stopReason === 'pause_turn') assistantOf(turnElement(e.turnId)).append(el('div', 'note', 'Paused (pause_turn): the server tool is still working — continuing the turn.'));
  },
  tool_start(e) {
    const call = turnElement(e.turnId).querySelector(`[data-tool-id="${CSS.escape(e.id)}"] .tool-status`);
    if (call) call.textContent = 'running…';
  },
  tool_end(e) {
    attachToolResult(turnElement(e.turnId), e.id, e.result, e.isError);
  },
  retry() {},
  turn_end(e) {
    // The finished turn as the conversation now holds it: the same view a reload shows.
    const node = resetTurn(e.turnId, e.ending.status);
    renderMessages(node, e.messages);
    renderEnding(node, e.ending);
    for (const key of [...liveBlocks.keys()]) if (key.startsWith(`${e.turnId}:`)) liveBlocks.delete(key);
    if (runningTurn === e.turnId) setRunning(null);
  },
  snapshot(e) {
    conversationView.replaceChildren();
    liveBlocks.clear();
    setRunning(null);
    for (const turn of e.turns) {
      const node = resetTurn(turn.id, turn.ending ? turn.ending.status : 'running');
      renderMessages(node, turn.messages);
      if (turn.ending) renderEnding(node, turn.ending);
    }
    for (const event of e.live) handlers[event.type]?.(event);
  },
};

function scrollDown() {
  conversationView.scrollTop = conversationView.scrollHeight;
}

function connect() {
  clearTimeout(reconnectTimer);
  source?.close();
  // A new EventSource cannot set Last-Event-ID; the server takes it as a query parameter too.
  const url = `/api/conversations/${encodeURIComponent(conversationId)}/events${lastEventId ? `?lastEventId=${encodeURIComponent(lastEventId)}` : ''}`;
  source = new EventSource(url);
  source.onopen = () => {
    connection.dataset.state = 'open';
    connection.textContent = 'connected';
  };
  source.onerror = () => {
    connection.dataset.state = 'lost';
    connection.textContent = 'reconnecting…';
    // The browser retries by itself (sending Last-Event-ID); once it has given up, start again.
    if (source.readyState === EventSource.CLOSED) reconnectTimer = setTimeout(connect, 1000);
  };
  for (const type of Object.keys(handlers)) {
    source.addEventListener(type, (message) => {
      if (message.lastEventId) lastEventId = message.lastEventId;
      handlers[type](JSON.parse(message.data));
      scrollDown();
    });
  }
}

async function api(method, path, body) {
  const response = await fetch(path, { method, headers: body === undefined ? {} : { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  const value = await response.json().catch(() => ({}));
  if (!response.ok) throw Object.assign(new Error(value.error ? value.error.message : `HTTP ${response.status}`), { status: response.status, code: value.error?.code });
  return value;
}

async function openConversation(fresh) {
  conversationId = fresh ? null : localStorage.getItem('turnstate-chat');
  if (conversationId) {
    try {
      await api('GET', `/api/conversations/${encodeURIComponent(conversationId)}`);
    } catch {
      conversationId = null;
    }
  }
  if (!conversationId) {
    conversationId = (await api('POST', '/api/conversations')).id;
    localStorage.setItem('turnstate-chat', conversationId);
  }
  document.body.dataset.conversation = conversationId;
  lastEventId = '';
  conversationView.replaceChildren();
  connect();
}

async function send(text) {
  if (!text.trim() || runningTurn !== null) return;
  notice.textContent = '';
  sendButton.disabled = true;
  try {
    await api('POST', `/api/conversations/${encodeURIComponent(conversationId)}/messages`, { text });
    input.value = '';
  } catch (error) {
    notice.textContent = error.message;
    sendButton.disabled = runningTurn !== null;
  }
}

$('composer').addEventListener('submit', (event) => {
  event.preventDefault();
  void send(input.value);
});
input.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    void send(input.value);
  }
});
stopButton.addEventListener('click', () => {
  api('POST', `/api/conversations/${encodeURIComponent(conversationId)}/stop`).catch((error) => (notice.textContent = error.message));
});
$('new').addEventListener('click', () => void openConversation(true));

(async () => {
  const info = await api('GET', '/api/info');
  $('mode').textContent = info.mode === 'fake' ? `built-in fake model (no API key) · ${info.model}` : `Anthropic API · ${info.model}`;
  if (info.mode === 'fake') {
    for (const s of info.scenarios) {
      const b = el('button', '', s.prompt);
      b.type = 'button';
      b.title = `stop reasons: ${s.stopReasons.join(' → ')}`;
      b.addEventListener('click', () => {
        input.value = s.prompt;
        input.focus();
      });
      $('suggestions').append(b);
    }
  }
  await openConversation(false);
})().catch((error) => (notice.textContent = `cannot start: ${error.message}`));
