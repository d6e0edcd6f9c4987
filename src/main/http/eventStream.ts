/**
 * Live events as a server-sent-event stream (GET /api/events). The renderer reads it with fetch() and
 * the same `Authorization: Bearer` header as every API call (EventSource cannot send headers, and a
 * cookie or a token in the URL would be a credential another page could ride or read).
 * A client that stops reading is dropped instead of buffering without bound.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { EventHub } from '../services/events'
import { HttpError } from './security'

export interface EventStreamOptions {
  /** open streams at most (each is one subscriber of the hub) */
  maxStreams?: number
  /** bytes queued for one slow client before it is dropped */
  maxBuffered?: number
  keepAliveMs?: number
}

export function eventStreams(events: EventHub, opts: EventStreamOptions = {}): (req: IncomingMessage, res: ServerResponse) => void {
  const maxStreams = opts.maxStreams ?? 64
  const maxBuffered = opts.maxBuffered ?? 1 << 20
  const keepAliveMs = opts.keepAliveMs ?? 15_000
  let open = 0

  return (_req, res) => {
    if (open >= maxStreams) throw new HttpError(503, 'too_many_streams', `at most ${maxStreams} event streams at once`)
    open++
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' })
    res.flushHeaders()
    let closed = false
    const send = (text: string): void => {
      if (closed || res.destroyed || res.writableEnded) return
      if (res.writableLength > maxBuffered) {
        res.destroy() // not reading: drop it rather than hold its backlog
        return
      }
      res.write(text)
    }
    send(': connected\n\n')
    const unsubscribe = events.subscribe((ev) => send(`data: ${JSON.stringify(ev)}\n\n`))
    const keepAlive = setInterval(() => send(': ping\n\n'), keepAliveMs)
    const close = (): void => {
      if (closed) return
      closed = true
      open--
      clearInterval(keepAlive)
      unsubscribe()
    }
    res.on('close', close) // the response ended or its connection went away
  }
}
