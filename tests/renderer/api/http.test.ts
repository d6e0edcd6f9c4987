import { describe, expect, it } from 'vitest'
import { EventStreamParser, takeAccessToken, type TokenWindow } from '../../../src/renderer/src/api/http'

function fakeWindow(href: string, stored: Record<string, string> = {}) {
  const storage = new Map(Object.entries(stored))
  const win: TokenWindow = {
    location: { href },
    history: {
      state: { keep: 1 },
      replaceState(_state, _unused, url) {
        win.location = { href: new URL(url, win.location.href).href }
      },
    },
    sessionStorage: {
      getItem: (k) => storage.get(k) ?? null,
      setItem: (k, v) => void storage.set(k, v),
    },
  }
  return { win, storage }
}

describe('serve-mode access token in the page', () => {
  it('moves ?token= into sessionStorage and out of the address bar, keeping the rest of the URL', () => {
    const { win, storage } = fakeWindow('http://127.0.0.1:5180/?a=1&token=SECRET#x')
    expect(takeAccessToken(win)).toBe('SECRET')
    expect(win.location.href).toBe('http://127.0.0.1:5180/?a=1#x')
    expect([...storage.values()]).toEqual(['SECRET'])
  })

  it('reads it back after a reload, and a new URL token replaces the stored one', () => {
    const { win } = fakeWindow('http://127.0.0.1:5180/', { 'daft-workbench.token': 'OLD' })
    expect(takeAccessToken(win)).toBe('OLD')
    const again = fakeWindow('http://127.0.0.1:5180/?token=NEW', { 'daft-workbench.token': 'OLD' })
    expect(takeAccessToken(again.win)).toBe('NEW')
    expect(again.storage.get('daft-workbench.token')).toBe('NEW')
    expect(takeAccessToken(fakeWindow('http://127.0.0.1:5180/').win)).toBeNull()
  })
})

describe('EventStreamParser', () => {
  it('yields the data of complete events across chunk boundaries, skipping comments', () => {
    const p = new EventStreamParser()
    expect(p.push(': connected\n\ndata: {"a"')).toEqual([])
    expect(p.push(':1}\n')).toEqual([])
    expect(p.push('\n: ping\n\ndata: 2\r\n\r\ndata:x\ndata: y\n\n')).toEqual(['{"a":1}', '2', 'x\ny'])
  })
})
